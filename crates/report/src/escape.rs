//! The one escaper for HTML and XML (JUnit, SVG), and JSON made safe to
//! embed in a `<script>` element.

/// Escapes text for HTML or XML, in element content and in quoted
/// attributes alike. Control characters other than tab and newline are
/// dropped: XML 1.0 forbids them, and they show as nothing in HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end the `<script>` element holding it, nor open a comment.
pub fn script_json(j: &serde_json::Value) -> String {
    j.to_string().replace("</", "<\\/").replace("<!--", "<\\!--")
}

/// Fills `{{NAME}}` placeholders of `template` in one pass: a value is
/// never searched for placeholders itself, so data cannot inject any.
/// Unknown names are left as they are.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| values.iter().find(|(k, _)| *k == &after[..end]).map(|(_, v)| (end, v))) {
            Some((end, v)) => {
                out.push_str(v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c\" 'd'\u{1}\te\n"), "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\te\n");
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let j = serde_json::json!({"v": "</script><!--"});
        assert_eq!(script_json(&j), r#"{"v":"<\/script><\!--"}"#);
    }

    #[test]
    fn fill_substitutes_once_and_never_inside_values() {
        assert_eq!(fill("<{{A}}|{{B}}|{{C}}>", &[("A", "{{B}}"), ("B", "b")]), "<{{B}}|b|{{C}}>");
        assert_eq!(fill("{{A", &[("A", "x")]), "{{A");
    }
}
