import Foundation

/// results.json (everything, raw samples included), results.csv (one row per point),
/// results.md (the printed tables) and plot.svg.
struct ResultFiles {
    let directory: URL

    func write(_ results: RunResults, markdown: String, plot: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        try encoder.encode(results).write(to: directory.appendingPathComponent("results.json"))
        try Data(csv(results).utf8).write(to: directory.appendingPathComponent("results.csv"))
        try Data(markdown.utf8).write(to: directory.appendingPathComponent("results.md"))
        try Data(plot.utf8).write(to: directory.appendingPathComponent("plot.svg"))
    }

    func csv(_ results: RunResults) -> String {
        var out = "scenario,series,n,k,unit,count,median,p95,min,max,samples\n"
        for m in results.measurements {
            let fields: [String] = [
                m.scenario, m.series, m.n.map(String.init) ?? "", m.k.map(String.init) ?? "", m.unit,
                "\(m.summary.count)", "\(m.summary.median)", "\(m.summary.p95)", "\(m.summary.min)", "\(m.summary.max)",
                m.samples.map { String(format: "%.4f", $0) }.joined(separator: " "),
            ]
            out += fields.map(quote).joined(separator: ",") + "\n"
        }
        return out
    }

    private func quote(_ field: String) -> String {
        field.contains(",") || field.contains("\"")
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}
