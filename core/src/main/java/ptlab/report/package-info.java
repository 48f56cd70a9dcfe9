/**
 * Self-contained HTML reports with inline SVG charts (no scripts, no network): line charts of
 * a quantity over time per series, and bar charts of histograms. Used by
 * {@code ptlab simulate --report}.
 */
package ptlab.report;
