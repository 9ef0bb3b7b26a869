import Foundation

/// Time versus N on log scales, full against incremental: one panel in-process, one end to end.
/// Points are medians; the thin vertical bar above each reaches the p95.
struct SVGPlot {
    let results: RunResults

    struct Series {
        var label: String
        var color: String
        var dashed: Bool
        var points: [(n: Double, median: Double, p95: Double)]
    }

    private static let palette = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#8c564b", "#e377c2"]

    func render() -> String {
        let panels: [(String, [Series])] = [
            ("In-process: full regeneration vs incremental apply", componentSeries()),
            ("End to end over HTTP + PostgreSQL: full job vs write-to-new-feed", endToEndSeries()),
        ].filter { !$0.1.isEmpty }
        let panelWidth = 560.0
        let width = panelWidth * Double(max(panels.count, 1))
        let height = 470.0
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (index, panel) in panels.enumerated() {
            svg += self.panel(
                title: panel.0,
                series: panel.1,
                x: Double(index) * panelWidth,
                width: panelWidth,
                height: height
            )
        }
        return svg + "</svg>\n"
    }

    private func points(_ scenario: String, _ series: String, k: Int?) -> [(n: Double, median: Double, p95: Double)] {
        results.measurements
            .filter { $0.scenario == scenario && $0.series == series && $0.k == k && $0.n != nil }
            .sorted { $0.n! < $1.n! }
            .map { (Double($0.n!), $0.summary.median, $0.summary.p95) }
    }

    private func ks(_ scenario: String, _ series: String) -> [Int] {
        Array(Set(results.measurements.filter { $0.scenario == scenario && $0.series == series }.compactMap(\.k)))
            .sorted()
    }

    private func componentSeries() -> [Series] {
        var series = [
            Series(
                label: "full regeneration",
                color: "#d62728",
                dashed: false,
                points: points("component", "full regeneration", k: nil)
            ),
            Series(
                label: "full render",
                color: "#ff7f0e",
                dashed: true,
                points: points("component", "full render", k: nil)
            ),
        ]
        for (index, k) in ks("component", "incremental bulk completion").enumerated() {
            series.append(
                Series(
                    label: "incremental, complete k = \(grouped(k))",
                    color: Self.palette[index % Self.palette.count],
                    dashed: false,
                    points: points("component", "incremental bulk completion", k: k)
                )
            )
        }
        series.append(
            Series(
                label: "incremental, edit 1 todo",
                color: "#7f7f7f",
                dashed: true,
                points: points("component", "incremental edit", k: 1)
            )
        )
        return series.filter { !$0.points.isEmpty }
    }

    private func endToEndSeries() -> [Series] {
        var series = [
            Series(
                label: "full job (submit → SUCCESS)",
                color: "#d62728",
                dashed: false,
                points: points("e2e", "full job: submitted to SUCCESS", k: nil)
            ),
            Series(
                label: "full job, server fold + render",
                color: "#ff7f0e",
                dashed: true,
                points: points("e2e", "full job: server regeneration (duration_ms)", k: nil)
            ),
        ]
        for (index, k) in ks("e2e", "bulk completion: new feed served").enumerated() {
            series.append(
                Series(
                    label: "complete k = \(grouped(k)) → new feed",
                    color: Self.palette[index % Self.palette.count],
                    dashed: false,
                    points: points("e2e", "bulk completion: new feed served", k: k)
                )
            )
        }
        series.append(
            Series(
                label: "edit 1 todo → new feed",
                color: "#7f7f7f",
                dashed: true,
                points: points("e2e", "edit: new feed served", k: 1)
            )
        )
        series.append(
            Series(
                label: "no change: GET cached feed (200)",
                color: "#bcbd22",
                dashed: true,
                points: points("e2e", "feed download, unchanged (200)", k: nil)
            )
        )
        return series.filter { !$0.points.isEmpty }
    }

    private func panel(title: String, series: [Series], x originX: Double, width: Double, height: Double) -> String {
        let left = originX + 80, right = originX + width - 18, top = 40.0, bottom = height - 170
        let ns = series.flatMap { $0.points.map(\.n) }
        let ys = series.flatMap { $0.points.flatMap { [$0.median, $0.p95] } }.filter { $0 > 0 && $0.isFinite }
        let xMin = log10((ns.min() ?? 1000) / 1.6), xMax = log10((ns.max() ?? 100_000) * 1.6)
        let yMin = floor(log10(ys.min() ?? 0.01)), yMax = ceil(log10(ys.max() ?? 1000))
        func px(_ n: Double) -> Double { left + (log10(n) - xMin) / (xMax - xMin) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (log10(max(v, 1e-6)) - yMin) / max(yMax - yMin, 1) * (bottom - top) }
        var svg = "<g>\n"
        svg +=
            "<text x=\"\(f(originX + width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        // Decade grid and labels.
        var decade = yMin
        while decade <= yMax {
            let y = py(pow(10, decade))
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(label(ms: pow(10, decade))))</text>\n"
            decade += 1
        }
        for n in Set(ns).sorted() {
            let x = px(n)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(bottom))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(f(x))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(grouped(Int(n)))</text>\n"
        }
        svg +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg +=
            "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 34))\" text-anchor=\"middle\">N (todos in the calendar, log scale)</text>\n"
        svg +=
            "<text transform=\"translate(\(f(originX + 16)),\(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">time (log scale)</text>\n"
        for s in series {
            let path = s.points.map { "\(f(px($0.n))),\(f(py($0.median)))" }.joined(separator: " ")
            svg +=
                "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for p in s.points {
                svg +=
                    "<line x1=\"\(f(px(p.n)))\" y1=\"\(f(py(p.median)))\" x2=\"\(f(px(p.n)))\" y2=\"\(f(py(p.p95)))\" stroke=\"\(s.color)\" stroke-width=\"1\"/>\n"
                svg +=
                    "<circle cx=\"\(f(px(p.n)))\" cy=\"\(f(py(p.median)))\" r=\"3.5\" fill=\"\(s.color)\"><title>\(escape(s.label)), N = \(grouped(Int(p.n))): median \(format(p.median)) ms, p95 \(format(p.p95)) ms</title></circle>\n"
            }
        }
        // Legend below the axes, two columns.
        for (index, s) in series.enumerated() {
            let x = left + Double(index % 2) * ((right - left) / 2)
            let y = bottom + 58 + Double(index / 2) * 18
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            svg += "<text x=\"\(f(x + 30))\" y=\"\(f(y))\">\(escape(s.label))</text>\n"
        }
        return svg + "</g>\n"
    }

    /// A decade as people write it: 1 µs, 10 ms, 1 s.
    private func label(ms: Double) -> String {
        func whole(_ value: Double) -> String { grouped(Int(value.rounded())) }
        return ms >= 1000 ? "\(whole(ms / 1000)) s" : ms >= 1 ? "\(whole(ms)) ms" : "\(whole(ms * 1000)) µs"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
