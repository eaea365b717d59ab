//! Territories: areas drawn on a map or imported as GeoJSON (RFC 7946), and whether a site's
//! point lies in one. Coordinates are longitude then latitude in degrees, as GeoJSON has them.
//! A territory is planar in degrees: right for the areas a service organisation draws (a city,
//! a region), which do not cross the antimeridian or reach a pole.

use serde::Serialize;
use serde_json::{json, Value};

use super::field::FieldError;

/// All the vertices a territory may have (a detailed region border has a few thousand).
pub const MAX_VERTICES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

impl Point {
    /// A point checked to be on the globe.
    pub fn new(lon: f64, lat: f64) -> Result<Self, FieldError> {
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(FieldError::new("lon", "coordinate", json!({ "min": -180, "max": 180 })));
        }
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(FieldError::new("lat", "coordinate", json!({ "min": -90, "max": 90 })));
        }
        Ok(Self { lon, lat })
    }
}

/// The Earth's mean radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Point {
    /// The great-circle distance to another point, in metres (haversine: exact on the sphere,
    /// within 0.5 % of the ellipsoid, which is below what a tracker's fix can tell).
    pub fn distance_m(self, other: Point) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
    }
}

/// One polygon: its outer ring and its holes, each ring closed (first vertex = last).
#[derive(Debug, Clone, PartialEq)]
struct Polygon {
    rings: Vec<Vec<Point>>,
    /// West, south, east, north: most points are refused by this box alone.
    bbox: [f64; 4],
}

/// A territory's shape: one or more polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    polygons: Vec<Polygon>,
    bbox: [f64; 4],
}

impl Area {
    /// Reads a GeoJSON Polygon or MultiPolygon, bare or in a Feature, or the polygons of a
    /// FeatureCollection taken together. Every problem is named under `field`.
    pub fn from_geojson(field: &'static str, v: &Value) -> Result<Self, FieldError> {
        let bad = |why: &str| FieldError::new(field, "geojson", json!({ "why": why }));
        let mut polygons = Vec::new();
        collect(v, &mut polygons, &bad, 0)?;
        if polygons.is_empty() {
            return Err(bad("no_polygon"));
        }
        let vertices: usize = polygons.iter().flat_map(|p| &p.rings).map(Vec::len).sum();
        if vertices > MAX_VERTICES {
            return Err(FieldError::new(field, "too_many", json!({ "max": MAX_VERTICES })));
        }
        let bbox = polygons.iter().fold(EMPTY_BOX, |b, p| union(b, p.bbox));
        Ok(Self { polygons, bbox })
    }

    /// The shape as a GeoJSON MultiPolygon, as it is stored and sent to the map.
    pub fn to_geojson(&self) -> Value {
        let polys: Vec<Value> = self
            .polygons
            .iter()
            .map(|p| {
                Value::Array(
                    p.rings
                        .iter()
                        .map(|r| Value::Array(r.iter().map(|q| json!([q.lon, q.lat])).collect()))
                        .collect(),
                )
            })
            .collect();
        json!({ "type": "MultiPolygon", "coordinates": polys })
    }

    /// West, south, east, north.
    pub fn bbox(&self) -> [f64; 4] {
        self.bbox
    }

    /// Whether `p` lies inside: in some polygon's outer ring and in none of its holes. A point
    /// exactly on an edge counts as inside, so neighbouring territories that share a border
    /// both claim a site on it rather than neither.
    pub fn contains(&self, p: Point) -> bool {
        in_box(self.bbox, p) && self.polygons.iter().any(|poly| in_polygon(poly, p))
    }

    /// Whether `p` is clearly inside (Some(true)) or clearly outside (Some(false)): at least
    /// `margin_m` metres from every edge; None when it is nearer an edge than that. Points far
    /// from the shape's box are answered by the box alone.
    pub fn side_beyond(&self, p: Point, margin_m: f64) -> Option<bool> {
        // A degree of latitude is about 111 km; of longitude, less by the cosine of the latitude.
        let dlat = margin_m / 111_000.0;
        let dlon = margin_m / (111_000.0 * p.lat.to_radians().cos().max(0.01));
        let grown = [
            self.bbox[0] - dlon,
            self.bbox[1] - dlat,
            self.bbox[2] + dlon,
            self.bbox[3] + dlat,
        ];
        if !in_box(grown, p) {
            return Some(false);
        }
        let near = self
            .polygons
            .iter()
            .flat_map(|poly| &poly.rings)
            .flat_map(|ring| ring.windows(2))
            .any(|w| to_segment_m(p, w[0], w[1]) < margin_m);
        if near {
            None
        } else {
            Some(self.contains(p))
        }
    }
}

/// The distance from `p` to the segment `a`–`b`, in metres, on a plane tangent at `p` (exact
/// enough for the tens of metres a margin is).
pub(crate) fn to_segment_m(p: Point, a: Point, b: Point) -> f64 {
    let k = p.lat.to_radians().cos() * 111_195.0;
    let xy = |q: Point| ((q.lon - p.lon) * k, (q.lat - p.lat) * 111_195.0);
    let ((ax, ay), (bx, by)) = (xy(a), xy(b));
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    (cx * cx + cy * cy).sqrt()
}

const EMPTY_BOX: [f64; 4] = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];

fn union(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

fn in_box(b: [f64; 4], p: Point) -> bool {
    p.lon >= b[0] && p.lat >= b[1] && p.lon <= b[2] && p.lat <= b[3]
}

fn in_polygon(poly: &Polygon, p: Point) -> bool {
    if !in_box(poly.bbox, p) {
        return false;
    }
    let mut rings = poly.rings.iter();
    let Some(outer) = rings.next() else { return false };
    match in_ring(outer, p) {
        Side::Outside => false,
        Side::Edge => true,
        Side::Inside => rings.all(|hole| in_ring(hole, p) != Side::Inside),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Side {
    Inside,
    Edge,
    Outside,
}

/// Even-odd crossing count of a ray going east from `p`, with points on an edge told apart.
fn in_ring(ring: &[Point], p: Point) -> Side {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if on_segment(a, b, p) {
            return Side::Edge;
        }
        // The half-open rule (one end counts, the other not) counts a vertex the ray passes
        // through once, never twice.
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
            if p.lon < x {
                inside = !inside;
            }
        }
    }
    if inside {
        Side::Inside
    } else {
        Side::Outside
    }
}

fn on_segment(a: Point, b: Point, p: Point) -> bool {
    let cross = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
    let scale = (b.lon - a.lon).abs().max((b.lat - a.lat).abs()).max(1e-12);
    cross.abs() <= 1e-12 * scale
        && p.lon >= a.lon.min(b.lon)
        && p.lon <= a.lon.max(b.lon)
        && p.lat >= a.lat.min(b.lat)
        && p.lat <= a.lat.max(b.lat)
}

fn collect(
    v: &Value,
    out: &mut Vec<Polygon>,
    bad: &dyn Fn(&str) -> FieldError,
    depth: usize,
) -> Result<(), FieldError> {
    // RFC 7946: a collection holds features, a feature holds a geometry; nothing nests further.
    let kind = v.get("type").and_then(Value::as_str);
    let allowed = match depth {
        0 => true,
        1 => kind != Some("FeatureCollection"),
        _ => !matches!(kind, Some("FeatureCollection" | "Feature")),
    };
    if !allowed {
        return Err(bad("nested"));
    }
    match kind {
        Some("FeatureCollection") => {
            let features = v
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("features"))?;
            for f in features {
                collect(f, out, bad, 1)?;
            }
            Ok(())
        }
        Some("Feature") => collect(v.get("geometry").ok_or_else(|| bad("geometry"))?, out, bad, 2),
        Some("Polygon") => {
            out.push(polygon(v.get("coordinates").ok_or_else(|| bad("coordinates"))?, bad)?);
            Ok(())
        }
        Some("MultiPolygon") => {
            let polys = v
                .get("coordinates")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("coordinates"))?;
            for p in polys {
                out.push(polygon(p, bad)?);
            }
            Ok(())
        }
        _ => Err(bad("type")),
    }
}

fn polygon(v: &Value, bad: &dyn Fn(&str) -> FieldError) -> Result<Polygon, FieldError> {
    let rings = v
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| bad("coordinates"))?;
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let positions = ring.as_array().ok_or_else(|| bad("coordinates"))?;
        let mut pts = Vec::with_capacity(positions.len());
        for pos in positions {
            let pair = pos.as_array().filter(|a| a.len() >= 2).ok_or_else(|| bad("position"))?;
            let (Some(lon), Some(lat)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                return Err(bad("position"));
            };
            pts.push(Point::new(lon, lat).map_err(|_| bad("position"))?);
        }
        // RFC 7946 §3.1.6: a linear ring has four or more positions, the first and last the same.
        if pts.len() < 4 {
            return Err(bad("ring_short"));
        }
        if pts.first() != pts.last() {
            return Err(bad("ring_open"));
        }
        out.push(pts);
    }
    let bbox = out[0]
        .iter()
        .fold(EMPTY_BOX, |b, p| union(b, [p.lon, p.lat, p.lon, p.lat]));
    Ok(Polygon { rings: out, bbox })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(w: f64, s: f64, e: f64, n: f64) -> Value {
        json!([[[w, s], [e, s], [e, n], [w, n], [w, s]]])
    }

    fn area(v: Value) -> Area {
        Area::from_geojson("shape", &v).unwrap()
    }

    fn pt(lon: f64, lat: f64) -> Point {
        Point { lon, lat }
    }

    #[test]
    fn inside_outside_and_holes() {
        let mut coords = square(37.0, 55.0, 38.0, 56.0);
        coords.as_array_mut().unwrap().push(json!([
            [37.4, 55.4],
            [37.6, 55.4],
            [37.6, 55.6],
            [37.4, 55.6],
            [37.4, 55.4]
        ]));
        let a = area(json!({"type": "Polygon", "coordinates": coords}));
        assert!(a.contains(pt(37.2, 55.2)));
        assert!(!a.contains(pt(37.5, 55.5)), "in the hole");
        assert!(!a.contains(pt(36.9, 55.5)), "west of it");
        assert!(!a.contains(pt(37.5, 56.01)), "north of it");
        assert!(a.contains(pt(37.0, 55.5)), "on the western edge");
        assert!(a.contains(pt(38.0, 56.0)), "a corner");
    }

    #[test]
    fn concave_shapes_and_vertices_on_the_ray() {
        // A U open to the north: the notch between its arms is outside.
        let u = area(json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [2.0, 3.0], [2.0, 1.0], [1.0, 1.0], [1.0, 3.0], [0.0, 3.0], [0.0, 0.0]
        ]]}));
        assert!(u.contains(pt(0.5, 2.0)));
        assert!(u.contains(pt(2.5, 2.0)));
        assert!(!u.contains(pt(1.5, 2.0)), "the notch");
        assert!(u.contains(pt(1.5, 0.5)), "the base");
        // The ray east from (0.5, 1.0) passes through the vertices (1,1) and (2,1).
        assert!(u.contains(pt(0.5, 1.0)));
        assert!(!u.contains(pt(-0.5, 1.0)));
        // A diamond whose side vertices sit on the ray from points west of it.
        let d = area(
            json!({"type": "Polygon", "coordinates": [[[1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.0, 1.0], [1.0, 0.0]]]}),
        );
        assert!(!d.contains(pt(-1.0, 1.0)));
        assert!(d.contains(pt(1.0, 1.0)));
        assert!(!d.contains(pt(2.5, 1.0)));
    }

    #[test]
    fn multipolygons_features_and_collections() {
        let multi = json!({"type": "MultiPolygon", "coordinates": [square(0.0, 0.0, 1.0, 1.0), square(10.0, 10.0, 11.0, 11.0)]});
        let a = area(multi.clone());
        assert!(a.contains(pt(0.5, 0.5)) && a.contains(pt(10.5, 10.5)));
        assert!(
            !a.contains(pt(5.0, 5.0)),
            "between the parts, though inside the whole box"
        );
        let feature = json!({"type": "Feature", "properties": {"name": "x"}, "geometry": multi});
        assert_eq!(area(feature.clone()), a);
        let fc = json!({"type": "FeatureCollection", "features": [feature]});
        assert_eq!(area(fc), a);
        // Stored and read back, the same shape.
        assert_eq!(area(a.to_geojson()), a);
    }

    #[test]
    fn bad_shapes_are_named() {
        let why = |v: Value| {
            let e = Area::from_geojson("shape", &v).unwrap_err();
            assert_eq!(e.field, "shape");
            e.args["why"].as_str().unwrap_or(e.reason).to_string()
        };
        assert_eq!(why(json!({"type": "Point", "coordinates": [0, 0]})), "type");
        assert_eq!(why(json!({"type": "Polygon"})), "coordinates");
        assert_eq!(
            why(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})),
            "ring_short"
        );
        assert_eq!(
            why(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})),
            "ring_open"
        );
        assert_eq!(
            why(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 91], [0, 0]]]})),
            "position"
        );
        assert_eq!(
            why(json!({"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]})),
            "position"
        );
        assert_eq!(why(json!({"type": "FeatureCollection", "features": []})), "no_polygon");
        assert_eq!(
            why(json!({"type": "Feature", "geometry": {"type": "Feature", "geometry": {"type": "Feature"}}})),
            "nested"
        );
        let mut ring: Vec<Value> = (0..MAX_VERTICES).map(|i| json!([i as f64 * 1e-6, 0.0])).collect();
        ring.push(json!([0.0, 1.0]));
        ring.push(json!([0.0, 0.0]));
        assert_eq!(why(json!({"type": "Polygon", "coordinates": [ring]})), "too_many");
        assert!(Point::new(181.0, 0.0).is_err() && Point::new(0.0, f64::NAN).is_err());
    }

    /// Against a brute-force count on a grid: a star polygon with many reflex vertices, and
    /// every grid point not on an edge checked by the winding number, an independent rule.
    #[test]
    fn agrees_with_the_winding_number() {
        let n = 24;
        let mut ring: Vec<Value> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 10.0 } else { 4.0 };
                json!([r * a.cos(), r * a.sin()])
            })
            .collect();
        ring.push(ring[0].clone());
        let pts: Vec<Point> = ring
            .iter()
            .map(|v| pt(v[0].as_f64().unwrap(), v[1].as_f64().unwrap()))
            .collect();
        let a = area(json!({"type": "Polygon", "coordinates": [ring]}));
        let mut checked = 0;
        for i in -120..=120 {
            for j in -120..=120 {
                let p = pt(i as f64 / 10.0 + 0.013, j as f64 / 10.0 + 0.007);
                let mut wind = 0.0;
                for w in pts.windows(2) {
                    let a1 = (w[0].lat - p.lat).atan2(w[0].lon - p.lon);
                    let a2 = (w[1].lat - p.lat).atan2(w[1].lon - p.lon);
                    let mut d = a2 - a1;
                    while d > std::f64::consts::PI {
                        d -= std::f64::consts::TAU;
                    }
                    while d < -std::f64::consts::PI {
                        d += std::f64::consts::TAU;
                    }
                    wind += d;
                }
                assert_eq!(a.contains(p), wind.abs() > 1.0, "at {p:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 241 * 241);
    }

    #[test]
    fn a_side_is_clear_only_beyond_the_margin() {
        let v = json!({"type": "Polygon", "coordinates": [[[37.55, 55.70], [37.70, 55.70], [37.70, 55.79], [37.55, 55.79], [37.55, 55.70]]]});
        let a = Area::from_geojson("shape", &v).unwrap();
        // 0.001° of longitude at 55.75° N is about 62.6 m.
        let at = |lon: f64| a.side_beyond(Point { lon, lat: 55.75 }, 50.0);
        assert_eq!(at(37.65), Some(true));
        assert_eq!(at(37.699), Some(true), "63 m inside");
        assert_eq!(at(37.6995), None, "31 m inside");
        assert_eq!(at(37.7005), None, "31 m outside");
        assert_eq!(at(37.701), Some(false), "63 m outside");
        assert_eq!(at(40.0), Some(false), "far off: the box says so");
    }
}
