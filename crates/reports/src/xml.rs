//! The aggregate report document (RFC 7489 Appendix C): feedback,
//! report_metadata, policy_published, then one record per stored row.

use postern_store::StoredDmarcRow;
use std::fmt::Write;

/// Who reports and which period.
pub struct Metadata<'a> {
    /// org_name.
    pub org: &'a str,
    /// The contact address (email).
    pub email: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
}

/// The XML of one report: `rows` all of one policy domain and period.
pub fn report(meta: &Metadata<'_>, rows: &[StoredDmarcRow]) -> String {
    let mut x = String::with_capacity(512 + rows.len() * 512);
    x.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <version>1.0</version>\n",
    );
    x.push_str("  <report_metadata>\n");
    tag(&mut x, 4, "org_name", meta.org);
    tag(&mut x, 4, "email", meta.email);
    tag(&mut x, 4, "report_id", meta.report_id);
    let _ = writeln!(
        x,
        "    <date_range>\n      <begin>{}</begin>\n      <end>{}</end>\n    </date_range>",
        meta.begin, meta.end
    );
    x.push_str("  </report_metadata>\n");
    if let Some(last) = rows.last() {
        policy_published(&mut x, &last.row.policy_domain, &last.row.policy);
    }
    for r in rows {
        record(&mut x, r);
    }
    x.push_str("</feedback>\n");
    x
}

/// The stored "adkim aspf p sp pct" as policy_published.
fn policy_published(x: &mut String, domain: &str, policy: &str) {
    let mut f = policy.split(' ');
    x.push_str("  <policy_published>\n");
    tag(x, 4, "domain", domain);
    for name in ["adkim", "aspf", "p", "sp", "pct"] {
        tag(x, 4, name, f.next().unwrap_or(""));
    }
    x.push_str("  </policy_published>\n");
}

fn record(x: &mut String, r: &StoredDmarcRow) {
    let row = &r.row;
    x.push_str("  <record>\n    <row>\n");
    tag(x, 6, "source_ip", &row.source_ip);
    tag(x, 6, "count", &r.count.to_string());
    x.push_str("      <policy_evaluated>\n");
    tag(x, 8, "disposition", &row.disposition);
    tag(x, 8, "dkim", &row.dkim);
    tag(x, 8, "spf", &row.spf);
    if !row.reason.is_empty() {
        x.push_str("        <reason>\n");
        tag(x, 10, "type", &row.reason);
        x.push_str("        </reason>\n");
    }
    x.push_str("      </policy_evaluated>\n    </row>\n    <identifiers>\n");
    if !row.envelope_from.is_empty() {
        tag(x, 6, "envelope_from", &row.envelope_from);
    }
    tag(x, 6, "header_from", &row.header_from);
    x.push_str("    </identifiers>\n    <auth_results>\n");
    for line in row.dkim_auth.lines() {
        let mut f = line.split(' ');
        let (domain, selector, result) = (f.next(), f.next(), f.next());
        x.push_str("      <dkim>\n");
        tag(x, 8, "domain", domain.unwrap_or(""));
        tag(x, 8, "selector", selector.unwrap_or(""));
        tag(x, 8, "result", result.unwrap_or("none"));
        x.push_str("      </dkim>\n");
    }
    let (domain, result) = row.spf_auth.split_once(' ').unwrap_or(("", "none"));
    x.push_str("      <spf>\n");
    tag(x, 8, "domain", domain);
    tag(x, 8, "scope", "mfrom");
    tag(x, 8, "result", result);
    x.push_str("      </spf>\n    </auth_results>\n  </record>\n");
}

fn tag(x: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(x, "{:indent$}<{name}>{}</{name}>", "", escape(value));
}

/// XML 1.0 §2.4 character data: markup characters as references, and
/// characters XML cannot carry at all dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::DmarcRow;

    #[test]
    fn a_report_has_metadata_policy_and_one_record_per_row() {
        let row = |ip: &str, count| StoredDmarcRow {
            id: 1,
            period_start: 0,
            period_end: 86_400,
            count,
            row: DmarcRow {
                policy_domain: "example.net".into(),
                policy: "r s reject none 100".into(),
                source_ip: ip.into(),
                header_from: "example.net".into(),
                envelope_from: "b.example".into(),
                disposition: "reject".into(),
                dkim: "fail".into(),
                spf: "fail".into(),
                dkim_auth: "example.net s1 fail".into(),
                spf_auth: "b.example pass".into(),
                ..DmarcRow::default()
            },
        };
        let meta = Metadata {
            org: "mx.example.org",
            email: "postmaster@mx.example.org",
            report_id: "0.example.net@<&>",
            begin: 0,
            end: 86_400,
        };
        let x = report(&meta, &[row("192.0.2.1", 3), row("192.0.2.2", 1)]);
        assert!(
            x.contains("<report_id>0.example.net@&lt;&amp;&gt;</report_id>"),
            "{x}"
        );
        assert!(x.contains("<begin>0</begin>\n      <end>86400</end>"));
        assert!(x.contains("<policy_published>\n    <domain>example.net</domain>\n    <adkim>r</adkim>\n    <aspf>s</aspf>\n    <p>reject</p>\n    <sp>none</sp>\n    <pct>100</pct>"), "{x}");
        assert_eq!(x.matches("<record>").count(), 2);
        assert!(x.contains("<source_ip>192.0.2.1</source_ip>\n      <count>3</count>"));
        assert!(x.contains("<selector>s1</selector>"));
        assert!(x.contains("<scope>mfrom</scope>\n        <result>pass</result>"));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{1}b\tc"), "ab\tc");
    }
}
