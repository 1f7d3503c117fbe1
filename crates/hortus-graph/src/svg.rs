//! SVG through `layout-rs`' `SVGWriter`, with two of its output defects
//! mended: its canvas size (it grows the canvas by a text's *length* in
//! the vertical direction, so a long label leaves a page of blank space
//! below the drawing) and its font-class order (written from a `HashMap`).

use layout::backends::svg::SVGWriter;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;

/// Margin around the drawing, in SVG units (as `SVGWriter` keeps).
const MARGIN: f64 = 5.0;
/// Average glyph width as a share of the font size (serif text).
const GLYPH_WIDTH: f64 = 0.6;

/// A render backend that draws with `SVGWriter` and measures the extent of
/// what is drawn itself.
pub struct FramedSvg {
    writer: SVGWriter,
    extent: Point,
}

impl FramedSvg {
    /// An empty drawing.
    pub fn new() -> FramedSvg {
        FramedSvg { writer: SVGWriter::new(), extent: Point::zero() }
    }

    fn grow(&mut self, corner: Point) {
        self.extent.x = self.extent.x.max(corner.x + MARGIN);
        self.extent.y = self.extent.y.max(corner.y + MARGIN);
    }

    /// The SVG document: `SVGWriter`'s, with the measured canvas size and
    /// its font classes sorted.
    pub fn finish(self) -> String {
        let svg = self.writer.finalize();
        let size = format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"",
            w = self.extent.x.ceil(),
            h = self.extent.y.ceil()
        );
        let framed = match (svg.find("<svg width=\""), svg.find("\" xmlns=")) {
            (Some(start), Some(end)) if start < end => format!("{}{size}{}", &svg[..start], &svg[end + 1..]),
            _ => svg,
        };
        sort_style_block(&framed)
    }
}

impl Default for FramedSvg {
    fn default() -> Self {
        FramedSvg::new()
    }
}

impl RenderBackend for FramedSvg {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.grow(Point::new(xy.x + size.x, xy.y + size.y));
        self.writer.draw_rect(xy, size, look, properties, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, properties: Option<String>) {
        self.grow(start);
        self.grow(stop);
        self.writer.draw_line(start, stop, look, properties);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, properties: Option<String>) {
        self.grow(Point::new(xy.x + size.x, xy.y + size.y));
        self.writer.draw_circle(xy, size, look, properties);
    }

    /// Text is centred on `xy`.
    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        let font = look.font_size as f64;
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        let lines = text.lines().count() as f64;
        self.grow(Point::new(xy.x + widest * font * GLYPH_WIDTH / 2.0, xy.y + lines * font / 2.0));
        self.writer.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        for &(point, control) in path {
            self.grow(point);
            self.grow(control);
        }
        self.writer.draw_arrow(path, dashed, head, look, properties, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.writer.create_clip(xy, size, rounded_px)
    }
}

/// layout-rs writes its font classes (one line each) from a `HashMap`, in
/// a different order from run to run; sorting them gives the same bytes
/// for the same graph.
fn sort_style_block(svg: &str) -> String {
    let (Some(start), Some(end)) = (svg.find("<style>\n"), svg.find("</style>")) else {
        return svg.to_string();
    };
    let start = start + "<style>\n".len();
    if end < start {
        return svg.to_string();
    }
    let mut classes: Vec<&str> = svg[start..end].lines().collect();
    classes.sort_unstable();
    let mut block = classes.join("\n");
    if !block.is_empty() {
        block.push('\n');
    }
    format!("{}{block}{}", &svg[..start], &svg[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_fits_the_drawing_under_a_long_label() {
        let look = StyleAttr::simple();
        let mut svg = FramedSvg::new();
        svg.draw_rect(Point::new(10.0, 10.0), Point::new(300.0, 40.0), &look, None, None);
        svg.draw_text(Point::new(160.0, 30.0), "a long label, twice as long", &look);
        let out = svg.finish();
        assert!(out.contains("<svg width=\"315\" height=\"55\" viewBox=\"0 0 315 55\""), "{}", &out[..200]);
    }
}
