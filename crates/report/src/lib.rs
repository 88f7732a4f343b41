//! Renderings of conch's reports, each a pure function from report data to
//! text or bytes: text for the terminal, JSON, JUnit XML, CSV, SVG plots and
//! self-contained HTML pages. Nothing here reads files, checks or runs.

pub mod cycle;
pub mod escape;
pub mod html;
pub mod json;
pub mod junit;
pub mod lamport;
pub mod plot;
pub mod svg;
pub mod table;
pub mod text;
pub mod timeline;

#[cfg(test)]
mod tests;
