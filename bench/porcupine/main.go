// Command porcupine-check checks a conch JSON Lines register history for
// linearizability with Porcupine (github.com/anishathalye/porcupine), so that
// conch's speed can be compared with Porcupine's on the same history, on the
// same machine, in the same run (issue #19).
//
// This file is conch's own driver; it contains no Porcupine code. go.mod
// points the Porcupine import at a local checkout with a replace directive.
//
// The model is a register per key (Porcupine's Model with PartitionEvent /
// Partition splitting the history by key, as Porcupine's own kv test does):
// read, write and cas on JSON values, a never-written key holding null (what
// `conch check` assumes for JSON Lines: --nil-read absent). Semantics follow
// docs/history-format.md:
//
//   - events are taken in line order (line order is authoritative; `time` is
//     ignored), so the default -api events hands Porcupine the event sequence
//     itself (CheckEventsTimeout: Porcupine uses the index as the time);
//     -api operations gives each op [invoke line, completion line] as
//     [Call, Return] (CheckOperationsTimeout, or CheckOperationsVerbose with
//     -verbose);
//   - `fail` ops did not take effect: they are dropped;
//   - `info` ops, and invokes that never complete, may or may not have taken
//     effect at any time after the invoke: their return is placed after the
//     last event of the history (Return = +infinity), and their output is
//     "unknown", which the model accepts in every state; a read with an unknown
//     result constrains nothing and is dropped;
//   - nemesis events are ignored.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/anishathalye/porcupine"
)

type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opCas
)

// A register value is kept as its compact JSON text: the register workload's
// values are integers and null, for which text equality is value equality.
type regInput struct {
	kind opKind
	key  int    // index into keys, used by the partition functions
	arg  string // write: the value; cas: the expected value
	arg2 string // cas: the new value
}

type regOutput struct {
	unknown bool   // info / never completed: outcome unknown
	value   string // read: the value read
}

// registerModel is a per-key register; its state is the key's value.
func registerModel(nkeys int) porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := make([][]porcupine.Operation, nkeys)
			for _, op := range history {
				k := op.Input.(regInput).key
				byKey[k] = append(byKey[k], op)
			}
			return nonEmpty(byKey)
		},
		PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
			byKey := make([][]porcupine.Event, nkeys)
			keyOf := make(map[int]int) // op id -> key, from the call event
			for _, ev := range history {
				var k int
				if ev.Kind == porcupine.CallEvent {
					k = ev.Value.(regInput).key
					keyOf[ev.Id] = k
				} else {
					k = keyOf[ev.Id]
				}
				byKey[k] = append(byKey[k], ev)
			}
			return nonEmpty(byKey)
		},
		Init: func() interface{} { return "null" },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			s := state.(string)
			in := input.(regInput)
			out := output.(regOutput)
			switch in.kind {
			case opRead:
				if out.unknown {
					return true, s
				}
				return out.value == s, s
			case opWrite:
				return true, in.arg
			default: // cas
				if s == in.arg {
					return true, in.arg2
				}
				// a cas that took effect needs its expected value; one
				// whose outcome is unknown may have failed instead
				return out.unknown, s
			}
		},
		Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
		DescribeOperation: func(input, output interface{}) string {
			in := input.(regInput)
			out := output.(regOutput)
			switch in.kind {
			case opRead:
				if out.unknown {
					return "read() -> ?"
				}
				return "read() -> " + out.value
			case opWrite:
				return "write(" + in.arg + ")"
			default:
				return "cas(" + in.arg + ", " + in.arg2 + ")"
			}
		},
	}
}

// nonEmpty drops empty partitions (Porcupine's parallel check never returns
// on a partition of zero ops).
func nonEmpty[T any](p [][]T) [][]T {
	out := p[:0]
	for _, h := range p {
		if len(h) > 0 {
			out = append(out, h)
		}
	}
	return out
}

// line is the subset of a conch JSON Lines event this driver reads.
type line struct {
	Type    string          `json:"type"`
	Process json.RawMessage `json:"process"`
	F       string          `json:"f"`
	Key     json.RawMessage `json:"key"`
	Value   json.RawMessage `json:"value"`
}

// op is one client operation as read from the file.
type op struct {
	input    regInput
	output   regOutput
	call     int // line index of the invoke
	ret      int // line index of the completion; -1 while open or unknown
	dropped  bool
	finished bool
}

type stats struct {
	lines, clientOps, ok, fail, info, open, droppedReads int
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func readHistory(path string) ([]*op, int, int, stats, error) {
	var st stats
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	keys := make(map[string]int)
	openBy := make(map[string]*op) // process -> open op
	var ops []*op
	n := 0
	for sc.Scan() {
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, 0, 0, st, fmt.Errorf("%s:%d: %v", path, n+1, err)
		}
		idx := n
		n++
		proc := compact(l.Process)
		if proc == `"nemesis"` {
			continue
		}
		switch l.Type {
		case "invoke":
			if _, busy := openBy[proc]; busy {
				return nil, 0, 0, st, fmt.Errorf("%s:%d: process %s invokes with an op open", path, n, proc)
			}
			k := compact(l.Key)
			ki, seen := keys[k]
			if !seen {
				ki = len(keys)
				keys[k] = ki
			}
			o := &op{call: idx, ret: -1}
			o.input.key = ki
			switch l.F {
			case "read":
				o.input.kind = opRead
			case "write":
				o.input.kind = opWrite
				o.input.arg = compact(l.Value)
			case "cas":
				o.input.kind = opCas
				var pair []json.RawMessage
				if err := json.Unmarshal(l.Value, &pair); err != nil || len(pair) != 2 {
					return nil, 0, 0, st, fmt.Errorf("%s:%d: cas value is not [old, new]", path, n)
				}
				o.input.arg, o.input.arg2 = compact(pair[0]), compact(pair[1])
			default:
				return nil, 0, 0, st, fmt.Errorf("%s:%d: f %q is not read, write or cas", path, n, l.F)
			}
			openBy[proc] = o
			ops = append(ops, o)
			st.clientOps++
		case "ok", "fail", "info":
			o, found := openBy[proc]
			if !found {
				return nil, 0, 0, st, fmt.Errorf("%s:%d: completion without an open invoke", path, n)
			}
			delete(openBy, proc)
			o.finished = true
			switch l.Type {
			case "ok":
				st.ok++
				o.ret = idx
				if o.input.kind == opRead {
					o.output.value = compact(l.Value)
				}
			case "fail":
				st.fail++
				o.dropped = true
			case "info":
				st.info++
				o.output.unknown = true
			}
		default:
			return nil, 0, 0, st, fmt.Errorf("%s:%d: unknown type %q", path, n, l.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, st, err
	}
	for _, o := range ops {
		if !o.finished {
			st.open++
			o.output.unknown = true
		}
		if o.output.unknown && o.input.kind == opRead && !o.dropped {
			o.dropped = true
			st.droppedReads++
		}
	}
	st.lines = n
	return ops, n, len(keys), st, nil
}

func toEvents(ops []*op, nlines int) []porcupine.Event {
	// slot each event at its line; unknown returns go after the last line
	slots := make([]porcupine.Event, nlines)
	used := make([]bool, nlines)
	var tail []porcupine.Event
	for id, o := range ops {
		if o.dropped {
			continue
		}
		slots[o.call] = porcupine.Event{Kind: porcupine.CallEvent, Value: o.input, Id: id}
		used[o.call] = true
		ret := porcupine.Event{Kind: porcupine.ReturnEvent, Value: o.output, Id: id}
		if o.ret >= 0 {
			slots[o.ret] = ret
			used[o.ret] = true
		} else {
			tail = append(tail, ret)
		}
	}
	events := make([]porcupine.Event, 0, 2*len(ops))
	for i, ev := range slots {
		if used[i] {
			events = append(events, ev)
		}
	}
	return append(events, tail...)
}

func toOperations(ops []*op) []porcupine.Operation {
	history := make([]porcupine.Operation, 0, len(ops))
	for _, o := range ops {
		if o.dropped {
			continue
		}
		ret := int64(math.MaxInt64) // unknown outcome: returns at infinity
		if o.ret >= 0 {
			ret = int64(o.ret)
		}
		history = append(history, porcupine.Operation{
			Input: o.input, Call: int64(o.call), Output: o.output, Return: ret,
		})
	}
	return history
}

func peakRSSKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("VmHWM:")) {
			var kb int64
			fmt.Sscanf(string(bytes.TrimSpace(l[6:])), "%d", &kb)
			return kb
		}
	}
	return -1
}

func main() {
	timeout := flag.Duration("timeout", 0, "give up after this long (e.g. 60s); 0 = no limit. A timed-out check reports Unknown")
	api := flag.String("api", "events", "Porcupine entry point: events (CheckEventsTimeout) or operations (CheckOperationsTimeout)")
	verbose := flag.Bool("verbose", false, "with -api operations: call CheckOperationsVerbose (also computes partial linearizations; slower)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-timeout 60s] [-api events|operations] [-verbose] HISTORY.jsonl\n", os.Args[0])
		flag.PrintDefaults()
		fmt.Fprintf(os.Stderr, "exit: 0 Ok, 1 Illegal, 2 bad input or usage, 3 Unknown (timed out)\n")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)

	t0 := time.Now()
	ops, nlines, nkeys, st, err := readHistory(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	model := registerModel(nkeys)
	var (
		events  []porcupine.Event
		history []porcupine.Operation
		checked int
	)
	switch *api {
	case "events":
		events = toEvents(ops, nlines)
		checked = len(events) / 2
	case "operations":
		history = toOperations(ops)
		checked = len(history)
	default:
		fmt.Fprintln(os.Stderr, "error: -api must be events or operations")
		os.Exit(2)
	}
	ops = nil
	if checked == 0 {
		// Porcupine's checkParallel waits for a result from each partition
		// and never returns on zero partitions, so say it here
		fmt.Printf("file: %s\nverdict: Ok (empty history: no ops to check)\n", path)
		os.Exit(0)
	}
	runtime.GC()
	tParsed := time.Now()

	var res porcupine.CheckResult
	entry := ""
	switch {
	case *api == "events":
		entry = "CheckEventsTimeout"
		res = porcupine.CheckEventsTimeout(model, events, *timeout)
	case *verbose:
		entry = "CheckOperationsVerbose"
		res, _ = porcupine.CheckOperationsVerbose(model, history, *timeout)
	default:
		entry = "CheckOperationsTimeout"
		res = porcupine.CheckOperationsTimeout(model, history, *timeout)
	}
	tDone := time.Now()

	fmt.Printf("file: %s\n", path)
	fmt.Printf("verdict: %s\n", res)
	fmt.Printf("entry point: porcupine.%s (timeout %v)\n", entry, *timeout)
	fmt.Printf("ops: %d client ops in %d lines, %d keys; ok %d, fail %d (dropped), info %d, never completed %d, unknown-result reads dropped %d; %d ops checked\n",
		st.clientOps, st.lines, nkeys, st.ok, st.fail, st.info, st.open, st.droppedReads, checked)
	fmt.Printf("time: read+convert %.3f s, check %.3f s, total %.3f s\n",
		tParsed.Sub(t0).Seconds(), tDone.Sub(tParsed).Seconds(), tDone.Sub(t0).Seconds())
	fmt.Printf("peak RSS: %d KB; GOMAXPROCS %d\n", peakRSSKB(), runtime.GOMAXPROCS(0))
	switch res {
	case porcupine.Ok:
		os.Exit(0)
	case porcupine.Illegal:
		os.Exit(1)
	default:
		os.Exit(3)
	}
}
