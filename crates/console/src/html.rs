//! HTML text: escaping (everything that comes from users — state names, inputs, outputs, log lines — goes
//! through [`esc`]), URL components, dates and durations, and the page around every view.

use std::fmt::Write as _;

/// `s` escaped for HTML text and attribute values (the graph's escaping: control characters HTML cannot
/// show become U+FFFD).
pub(crate) fn esc(s: &str) -> String {
    sfn::graph::xml_text(s)
}

/// `s` percent-encoded for a URL path segment or query value (unreserved characters and `:` kept).
pub(crate) fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An API date (epoch seconds) as `2026-12-01 13:45:07 UTC`.
pub(crate) fn date(v: &serde_json::Value) -> String {
    let Some(secs) = v.as_f64() else { return String::new() };
    chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Milliseconds as people read them: `850 ms`, `2.4 s`, `3 min 5 s`, `2 h 1 min`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A status badge (`SUCCEEDED`, `FAILED`, …; graph statuses in lower case).
pub(crate) fn badge(status: &str) -> String {
    let class: String = status.to_ascii_lowercase().replace('_', "-");
    format!("<span class=\"badge badge-{}\">{}</span>", esc(&class), esc(status))
}

/// A whole page: `title` (escaped here) is the `<title>` and the `<h1>`; `body` is HTML already.
pub(crate) fn page(title: &str, crumbs: &[(&str, String)], body: &str) -> String {
    let mut nav = String::from("<a href=\"/\">State machines</a>");
    for (label, href) in crumbs {
        let _ =
            write!(nav, " <span aria-hidden=\"true\">›</span> <a href=\"{}\">{}</a>", esc(href), esc(label));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t} · sfn console</title>\n<link rel=\"stylesheet\" href=\"/static/console.css\">\n\
         <script src=\"/static/console.js\" defer></script>\n</head>\n<body>\n\
         <header><nav aria-label=\"Breadcrumb\">{nav}</nav></header>\n<main>\n<h1>{t}</h1>\n{body}\n</main>\n\
         </body>\n</html>\n",
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_urls() {
        assert_eq!(
            esc("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
        assert_eq!(
            url("arn:aws:states:x:execution:m:a b/ü?"),
            "arn:aws:states:x:execution:m:a%20b%2F%C3%BC%3F"
        );
    }

    #[test]
    fn dates_and_durations() {
        assert_eq!(date(&serde_json::json!(1_764_596_707.5)), "2025-12-01 13:45:07 UTC");
        assert_eq!(date(&serde_json::json!("x")), "");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(2_400), "2.4 s");
        assert_eq!(duration(185_000), "3 min 5 s");
        assert_eq!(duration(7_260_000), "2 h 1 min");
    }
}
