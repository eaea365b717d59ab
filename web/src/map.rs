//! The map page's tile source, set by the installation's owner (`map_tiles`): where browsers
//! fetch tiles from, and so the one origin the page's Content-Security-Policy lets images come
//! from besides the hub.

/// A tile source, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiles {
    pub url: String,
    pub attribution: String,
    /// The origin for the policy's `img-src`: `https://tile.example.com`, or with `{s}`
    /// subdomains `https://*.tile.example.com`.
    pub origin: String,
}

impl Tiles {
    /// Takes `url` when it is http(s), names {z}, {x} and {y}, and holds nothing that could
    /// break out of a policy's source list (spaces, quotes, semicolons, commas).
    pub fn new(url: &str, attribution: &str) -> Result<Tiles, String> {
        let url = url.trim();
        let rest = url
            .strip_prefix("https://")
            .map(|r| ("https://", r))
            .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)));
        let Some((scheme, rest)) = rest else {
            return Err(format!("{url:?} does not begin with https:// or http://"));
        };
        if ["{z}", "{x}", "{y}"].iter().any(|p| !url.contains(p)) {
            return Err(format!("{url:?} lacks {{z}}, {{x}} or {{y}}"));
        }
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | ';' | ',' | '<' | '>' | '\\'))
        {
            return Err(format!("{url:?} holds characters a URL does not"));
        }
        let host = rest.split('/').next().unwrap_or("");
        let host = host.replacen("{s}.", "*.", 1);
        if host.is_empty() || host.contains(['{', '}', '@']) {
            return Err(format!("{url:?} names no plain host (only {{s}}. may stand before it)"));
        }
        Ok(Tiles {
            url: url.to_string(),
            attribution: attribution.trim().chars().take(300).collect(),
            origin: format!("{scheme}{host}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_the_tile_servers() {
        let t = Tiles::new("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OSM").unwrap();
        assert_eq!(t.origin, "https://tile.openstreetmap.org");
        let t = Tiles::new("https://{s}.tile.example.com:8443/{z}/{x}/{y}.png?key=1", "").unwrap();
        assert_eq!(t.origin, "https://*.tile.example.com:8443");
        let t = Tiles::new("http://127.0.0.1:9000/{z}/{x}/{y}.png", "").unwrap();
        assert_eq!(t.origin, "http://127.0.0.1:9000");
    }

    #[test]
    fn what_could_break_the_policy_is_refused() {
        for bad in [
            "ftp://tiles/{z}/{x}/{y}.png",
            "https://tiles/{z}/{x}.png",
            "https://tiles.example.com/{z}/{x}/{y}.png; script-src *",
            "https://tiles.example.com/{z}/{x}/{y}.png 'unsafe-inline'",
            "https://{z}.example.com/{z}/{x}/{y}.png",
            "https://user@example.com/{z}/{x}/{y}.png",
            "https:///{z}/{x}/{y}.png",
        ] {
            assert!(Tiles::new(bad, "").is_err(), "{bad}");
        }
    }
}
