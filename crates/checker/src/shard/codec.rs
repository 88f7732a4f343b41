//! A compact binary encoding of [`Op`]s for shard files: varints, one tag
//! byte per value. Only conch writes these files, but decoding still checks
//! every length and tag and returns an error rather than panic on a
//! truncated or corrupted file.

use crate::history::{Op, OpId, Outcome, F};
use crate::value::{parse_integer, Decimal, Value, ValueMap};

/// Deepest value nesting decoded; the readers already refuse deeper input.
const MAX_DEPTH: usize = 256;

pub(crate) fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Zigzag: small negative and positive integers both become small varints.
pub(crate) fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

pub(crate) fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

fn put_signed(out: &mut Vec<u8>, x: i64) {
    put_varint(out, zigzag(x));
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Int(i) => {
            out.push(3);
            put_signed(out, *i);
        }
        Value::BigInt(b) => {
            out.push(9);
            put_str(out, b.as_str());
        }
        Value::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Decimal(d) => {
            // Its canonical text, which parses back to the same decimal.
            out.push(10);
            put_str(out, &d.to_string());
        }
        Value::Str(s) => {
            out.push(5);
            put_str(out, s);
        }
        Value::List(_) | Value::SharedList(_) | Value::Set(_) => {
            out.push(if matches!(v, Value::Set(_)) { 7 } else { 6 });
            let items = v.as_seq().unwrap_or_default();
            put_varint(out, items.len() as u64);
            for x in items {
                put_value(out, x);
            }
        }
        Value::Map(m) => {
            out.push(8);
            put_varint(out, m.len() as u64);
            for (k, x) in m.iter() {
                put_value(out, k);
                put_value(out, x);
            }
        }
    }
}

/// `x`, which usually comes a little after `base`: 0 for none, 2 + the
/// distance when it is at or after `base` (by less than 2^63), else 1 and
/// `x` itself.
fn put_after(out: &mut Vec<u8>, base: u64, x: Option<u64>) {
    match x {
        None => out.push(0),
        Some(x) if x >= base && x - base < 1 << 63 => put_varint(out, x - base + 2),
        Some(x) => {
            out.push(1);
            put_varint(out, x);
        }
    }
}

fn put_opt_i64(out: &mut Vec<u8>, x: Option<i64>) {
    match x {
        None => out.push(0),
        Some(x) => {
            out.push(1);
            put_signed(out, x);
        }
    }
}

/// Appends one op.
pub(crate) fn put_op(out: &mut Vec<u8>, op: &Op) {
    put_varint(out, op.id.0 as u64);
    put_varint(out, op.process);
    put_str(out, op.f.as_str());
    match &op.key {
        None => out.push(0),
        Some(k) => {
            out.push(1);
            put_value(out, k);
        }
    }
    put_value(out, &op.input);
    put_value(out, &op.output);
    out.push(match op.outcome {
        Outcome::Ok => 0,
        Outcome::Fail => 1,
        Outcome::Info => 2,
    });
    put_varint(out, op.call);
    // The completion's position, line and time as distances from the
    // invoke's: a byte or two each instead of up to ten.
    put_after(out, op.call, (op.ret != u64::MAX).then_some(op.ret));
    put_varint(out, op.invoke_line);
    put_after(out, op.invoke_line, op.complete_line);
    put_opt_i64(out, op.invoke_time_ns);
    match (op.invoke_time_ns, op.complete_time_ns) {
        (_, None) => out.push(0),
        (Some(t0), Some(t1)) => {
            out.push(1);
            put_signed(out, t1.wrapping_sub(t0));
        }
        (None, Some(t1)) => {
            out.push(2);
            put_signed(out, t1);
        }
    }
    match &op.node {
        None => out.push(0),
        Some(n) => {
            out.push(1);
            put_str(out, n);
        }
    }
    out.push(op.is_final as u8);
}

/// Reads ops back from a byte slice.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, String>;

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, pos: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn byte(&mut self) -> R<u8> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// An op's function: its name matched as bytes first (nearly always
    /// one of the interned names), UTF-8-checked only otherwise.
    fn f(&mut self) -> R<F> {
        let s = self.bytes_of_str()?;
        match F::interned(s) {
            Some(f) => Ok(f),
            None => Ok(F::parse(self.utf8(s)?)),
        }
    }

    #[inline]
    fn varint(&mut self) -> R<u64> {
        // Most varints here are one byte (tags, small distances, ids below 128).
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(b as u64);
            }
        }
        // Away from the end of the data: no bounds check per byte.
        if let Some(b) = self.bytes[self.pos..].first_chunk::<10>() {
            let mut x = 0u64;
            for (i, &b) in b.iter().enumerate() {
                x |= ((b & 0x7f) as u64) << (7 * i);
                if b < 0x80 {
                    self.pos += i + 1;
                    return Ok(x);
                }
            }
        }
        self.varint_checked()
    }

    /// [`Decoder::varint`] byte by byte, for the error of a truncated or
    /// overlong one.
    #[cold]
    #[inline(never)]
    fn varint_checked(&mut self) -> R<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            x |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(format!("varint too long at byte {}", self.pos))
    }

    fn signed(&mut self) -> R<i64> {
        Ok(unzigzag(self.varint()?))
    }

    fn len(&mut self) -> R<usize> {
        let n = self.varint()?;
        // Every element takes at least one byte: a longer count is corrupt.
        if n > (self.bytes.len() - self.pos) as u64 {
            return Err(format!("length {n} exceeds the data at byte {}", self.pos));
        }
        Ok(n as usize)
    }

    fn str(&mut self) -> R<&'a str> {
        let s = self.bytes_of_str()?;
        self.utf8(s)
    }

    /// A string's bytes, not yet checked to be UTF-8.
    fn bytes_of_str(&mut self) -> R<&'a [u8]> {
        let n = self.len()?;
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// `s`, just read, as text.
    fn utf8(&self, s: &'a [u8]) -> R<&'a str> {
        std::str::from_utf8(s).map_err(|_| format!("invalid UTF-8 before byte {}", self.pos))
    }

    fn value(&mut self, depth: usize) -> R<Value> {
        if depth > MAX_DEPTH {
            return Err("value nested too deeply".into());
        }
        Ok(match self.byte()? {
            0 => Value::Nil,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(self.signed()?),
            4 => {
                let end = self.pos + 8;
                let b = self.bytes.get(self.pos..end).ok_or("truncated float")?;
                self.pos = end;
                Value::Float(f64::from_bits(u64::from_le_bytes(b.try_into().map_err(|_| "bad float")?)))
            }
            5 => Value::Str(self.str()?.into()),
            t @ (6 | 7) => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                // Sets were sorted when encoded; keep them as they were.
                if t == 6 {
                    Value::List(items)
                } else {
                    Value::Set(items)
                }
            }
            8 => {
                let n = self.len()?;
                let mut m = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    m.push((k, self.value(depth + 1)?));
                }
                Value::Map(ValueMap::from_entries(m).map_err(|k| format!("map key {k} repeated"))?)
            }
            9 => {
                let s = self.str()?;
                match parse_integer(s) {
                    Some(v @ Value::BigInt(_)) => v,
                    _ => return Err(format!("bad big integer {s:?}")),
                }
            }
            10 => {
                let s = self.str()?;
                let d = s.strip_suffix('M').and_then(Decimal::parse).ok_or_else(|| format!("bad decimal {s:?}"))?;
                Value::Decimal(d)
            }
            t => return Err(format!("unknown value tag {t} at byte {}", self.pos - 1)),
        })
    }

    /// What [`put_after`] wrote.
    fn after(&mut self, base: u64) -> R<Option<u64>> {
        Ok(match self.varint()? {
            0 => None,
            1 => Some(self.varint()?),
            d => Some(base.checked_add(d - 2).ok_or_else(|| format!("distance out of range at byte {}", self.pos))?),
        })
    }

    fn opt_i64(&mut self) -> R<Option<i64>> {
        Ok(match self.byte()? {
            0 => None,
            _ => Some(self.signed()?),
        })
    }

    /// The next op.
    pub(crate) fn op(&mut self) -> R<Op> {
        let id = self.varint()?;
        let id = OpId(u32::try_from(id).map_err(|_| format!("op id {id} out of range"))?);
        let process = self.varint()?;
        let f = self.f()?;
        let key = match self.byte()? {
            0 => None,
            _ => Some(self.value(0)?),
        };
        let input = self.value(0)?;
        let output = self.value(0)?;
        let outcome = match self.byte()? {
            0 => Outcome::Ok,
            1 => Outcome::Fail,
            2 => Outcome::Info,
            t => return Err(format!("unknown outcome {t}")),
        };
        let call = self.varint()?;
        let ret = self.after(call)?.unwrap_or(u64::MAX);
        let invoke_line = self.varint()?;
        let complete_line = self.after(invoke_line)?;
        let invoke_time_ns = self.opt_i64()?;
        let complete_time_ns = match (self.byte()?, invoke_time_ns) {
            (0, _) => None,
            (1, Some(t0)) => Some(t0.wrapping_add(self.signed()?)),
            (2, _) => Some(self.signed()?),
            (t, _) => return Err(format!("bad completion time tag {t} at byte {}", self.pos)),
        };
        let node = match self.byte()? {
            0 => None,
            _ => Some(self.str()?.into()),
        };
        let is_final = self.byte()? != 0;
        Ok(Op {
            id,
            process,
            f,
            key,
            input,
            output,
            outcome,
            call,
            ret,
            invoke_line,
            complete_line,
            invoke_time_ns,
            complete_time_ns,
            node,
            is_final,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::arb::{value, Space};
    use proptest::prelude::*;

    prop_compose! {
        fn arb_op()(
            id in any::<u32>(), process in any::<u64>(), f in "[a-z]{1,6}", key in proptest::option::of(value(Space::Any)),
            input in value(Space::Any), output in value(Space::Any), outcome in 0..3u8, call in any::<u64>(),
            // Completions near their invokes (as in every history), as well as anywhere.
            ret in (0..3u8, any::<u64>(), 0..300u64), invoke_line in any::<u64>(),
            complete_line in proptest::option::of((any::<bool>(), any::<u64>(), 0..300u64)),
            times in (proptest::option::of(any::<i64>()), proptest::option::of((any::<bool>(), any::<i64>(), -300..300i64))),
            node in proptest::option::of("[a-z0-9]{0,4}"), is_final in any::<bool>(),
        ) -> Op {
            Op {
                id: OpId(id), process, f: F::parse(&f), key, input, output,
                outcome: [Outcome::Ok, Outcome::Fail, Outcome::Info][outcome as usize],
                call,
                ret: match ret { (0, _, _) => u64::MAX, (1, r, _) => r, (_, _, d) => call.wrapping_add(d) },
                invoke_line,
                complete_line: complete_line.map(|(near, l, d)| if near { invoke_line.wrapping_add(d) } else { l }),
                invoke_time_ns: times.0,
                complete_time_ns: times.1.map(|(near, t, d)| if near { times.0.unwrap_or(0).wrapping_add(d) } else { t }),
                node: node.map(|n| n.into()), is_final,
            }
        }
    }

    proptest! {
        #[test]
        fn ops_round_trip(ops in prop::collection::vec(arb_op(), 0..6)) {
            let mut buf = Vec::new();
            for op in &ops {
                put_op(&mut buf, op);
            }
            let mut d = Decoder::new(&buf);
            for op in &ops {
                let back = d.op().unwrap();
                // Value equality treats floats by bits, so NaNs compare too.
                prop_assert_eq!(&back.input, &op.input);
                prop_assert_eq!(format!("{back:?}"), format!("{op:?}"));
            }
            prop_assert!(d.at_end());
        }

        #[test]
        fn corrupt_bytes_give_errors_not_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut d = Decoder::new(&bytes);
            while !d.at_end() {
                if d.op().is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn truncated_op_is_an_error() {
        let op = Op {
            id: OpId(7),
            process: 1,
            f: F::Read,
            key: Some(Value::Int(3)),
            input: Value::Nil,
            output: Value::List(vec![Value::Int(1), Value::Int(2)]),
            outcome: Outcome::Ok,
            call: 4,
            ret: 9,
            invoke_line: 5,
            complete_line: Some(10),
            invoke_time_ns: Some(-3),
            complete_time_ns: None,
            node: Some("n1".into()),
            is_final: true,
        };
        let mut buf = Vec::new();
        put_op(&mut buf, &op);
        for cut in 0..buf.len() {
            assert!(Decoder::new(&buf[..cut]).op().is_err(), "cut at {cut}");
        }
        assert_eq!(Decoder::new(&buf).op().unwrap(), op);
    }
}
