#include "bench/report_svg.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "bench/report_format.h"

namespace bench {

// Two panels: throughput and latency (p50, p99) against concurrency, for
// direct, through, the Go peer and the floor server (one channel). The x axis is logarithmic (C =
// 1, 16, 64).
std::string RenderSvg(const Report& r) {
  const std::vector<int> cs = Concurrencies(r);
  const double W = 980, H = 420, pw = 400, ph = 300, top = 60, left1 = 80, left2 = 570;
  std::string s;
  auto add = [&](const std::string& x) { s += x + "\n"; };
  add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", W) + "\" height=\"" +
      Fmt("%.0f", H) + "\" font-family=\"sans-serif\" font-size=\"12\">");
  add("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
  add("<text x=\"" + Fmt("%.0f", W / 2) +
      "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">AgLeaderCredentials.GetCredentials: "
      "service vs Go peer vs floor (gRPC alone) vs direct libcurl, one channel</text>");
  add("<text x=\"" + Fmt("%.0f", W / 2) + "\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">" +
      std::to_string(r.machine.nproc) + " CPUs, " + r.machine.cpu_model + ", " + r.started_at +
      "</text>");
  if (cs.empty()) {
    add("</svg>");
    return s;
  }
  const double lmin = std::log2(std::max(1, cs.front()));
  const double lmax = std::max(lmin + 1, std::log2(std::max(1, cs.back())));
  auto xpos = [&](double left, int c) {
    return left + 20 + (std::log2(std::max(1, c)) - lmin) / (lmax - lmin) * (pw - 40);
  };
  struct Series {
    std::string mode;
    const char* color;
    const char* label;
  };
  const Series series[] = {{"direct", "#1f77b4", "direct (libcurl)"},
                           {"through", "#d62728", "service"},
                           {"go", "#2ca02c", "Go peer"},
                           {"floor", "#7f7f7f", "floor (gRPC alone)"}};

  auto axes = [&](double left, const std::string& title, const std::string& ylabel) {
    add("<rect x=\"" + Fmt("%.0f", left) + "\" y=\"" + Fmt("%.0f", top) + "\" width=\"" +
        Fmt("%.0f", pw) + "\" height=\"" + Fmt("%.0f", ph) + "\" fill=\"none\" stroke=\"#333\"/>");
    add("<text x=\"" + Fmt("%.0f", left + pw / 2) + "\" y=\"" + Fmt("%.0f", top - 6) +
        "\" text-anchor=\"middle\" font-size=\"13\">" + title + "</text>");
    add("<text x=\"" + Fmt("%.0f", left + pw / 2) + "\" y=\"" + Fmt("%.0f", top + ph + 36) +
        "\" text-anchor=\"middle\">concurrency C (calls in flight)</text>");
    add("<text transform=\"translate(" + Fmt("%.0f", left - 58) + "," + Fmt("%.0f", top + ph / 2) +
        ") rotate(-90)\" text-anchor=\"middle\">" + ylabel + "</text>");
    for (int c : cs) {
      const double x = xpos(left, c);
      add("<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.0f", top + ph) + "\" x2=\"" +
          Fmt("%.1f", x) + "\" y2=\"" + Fmt("%.0f", top + ph + 5) + "\" stroke=\"#333\"/>");
      add("<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.0f", top + ph + 18) +
          "\" text-anchor=\"middle\">" + std::to_string(c) + "</text>");
    }
  };
  auto polyline = [&](const std::vector<std::pair<double, double>>& pts, const char* color,
                      const char* dash) {
    if (pts.empty()) return;
    std::string p;
    for (const auto& [x, y] : pts) p += Fmt("%.1f", x) + "," + Fmt("%.1f", y) + " ";
    add("<polyline fill=\"none\" stroke=\"" + std::string(color) +
        "\" stroke-width=\"2\" stroke-dasharray=\"" + dash + "\" points=\"" + p + "\"/>");
    for (const auto& [x, y] : pts) {
      add("<circle cx=\"" + Fmt("%.1f", x) + "\" cy=\"" + Fmt("%.1f", y) + "\" r=\"3.5\" fill=\"" +
          color + "\"/>");
    }
  };

  // Throughput, linear y from 0.
  double max_rps = 1;
  for (const RunRecord& run : r.runs) max_rps = std::max(max_rps, run.rps);
  const double step = std::pow(10, std::floor(std::log10(max_rps)));
  double ymax = std::ceil(max_rps * 1.1 / step) * step;
  axes(left1, "Throughput", "requests per second");
  for (int i = 0; i <= 5; ++i) {
    const double v = ymax * i / 5, y = top + ph - ph * i / 5;
    add("<line x1=\"" + Fmt("%.0f", left1) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
        Fmt("%.0f", left1 + pw) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#eee\"/>");
    add("<text x=\"" + Fmt("%.0f", left1 - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
        "\" text-anchor=\"end\">" + Fmt("%.0f", v) + "</text>");
  }
  for (const Series& se : series) {
    std::vector<std::pair<double, double>> pts;
    for (int c : cs) {
      if (const RunRecord* run = FindRun(r, se.mode, c)) {
        pts.emplace_back(xpos(left1, c), top + ph - ph * run->rps / ymax);
      }
    }
    polyline(pts, se.color, "none");
  }

  // Latency, log y.
  double lo = 1e9, hi = 1;
  for (const RunRecord& run : r.runs) {
    if (run.latency.p50_us > 0) lo = std::min(lo, run.latency.p50_us);
    hi = std::max(hi, run.latency.p99_us);
  }
  const double dlo = std::floor(std::log10(std::max(1.0, std::min(lo, hi))));
  const double dhi = std::max(dlo + 1, std::ceil(std::log10(hi)));
  auto ylat = [&](double us) {
    return top + ph - ph * (std::log10(std::max(us, 1.0)) - dlo) / (dhi - dlo);
  };
  axes(left2, "Latency (solid p50, dashed p99)", "microseconds (log scale)");
  for (double d = dlo; d <= dhi; d += 1) {
    const double y = ylat(std::pow(10, d));
    add("<line x1=\"" + Fmt("%.0f", left2) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
        Fmt("%.0f", left2 + pw) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#eee\"/>");
    add("<text x=\"" + Fmt("%.0f", left2 - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
        "\" text-anchor=\"end\">" + Fmt("%.0f", std::pow(10, d)) + "</text>");
  }
  for (const Series& se : series) {
    std::vector<std::pair<double, double>> p50, p99;
    for (int c : cs) {
      if (const RunRecord* run = FindRun(r, se.mode, c)) {
        p50.emplace_back(xpos(left2, c), ylat(run->latency.p50_us));
        p99.emplace_back(xpos(left2, c), ylat(run->latency.p99_us));
      }
    }
    polyline(p50, se.color, "none");
    polyline(p99, se.color, "6,4");
  }
  // Legend.
  double lx = left1;
  for (const Series& se : series) {
    add("<line x1=\"" + Fmt("%.0f", lx) + "\" y1=\"" + Fmt("%.0f", H - 18) + "\" x2=\"" +
        Fmt("%.0f", lx + 24) + "\" y2=\"" + Fmt("%.0f", H - 18) + "\" stroke=\"" + se.color +
        "\" stroke-width=\"2\"/>");
    add("<text x=\"" + Fmt("%.0f", lx + 30) + "\" y=\"" + Fmt("%.0f", H - 14) + "\">" + se.label +
        "</text>");
    lx += 200;
  }
  add("</svg>");
  return s;
}

}  // namespace bench
