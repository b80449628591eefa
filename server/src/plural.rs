//! Counts in words: "1 report", "2 reports" (never "1 reports" or "report(s)").

/// `n` things, in the singular for one.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::count(1, "group", "groups"), "1 group");
        assert_eq!(super::count(0, "group", "groups"), "0 groups");
        assert_eq!(super::count(2, "group", "groups"), "2 groups");
    }
}
