//! Charts for the dashboard, drawn on the server as SVG.
