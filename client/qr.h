// A QR code of a connect link's URL, drawn in a terminal with UTF-8 half
// blocks (two module rows per text line) so that it keeps a square aspect
// and can be scanned from the screen by the grower's phone.
#ifndef CLIENT_QR_H_
#define CLIENT_QR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leafsvc::client {

// The quiet zone around the symbol, in modules: the 4 ISO/IEC 18004 asks
// for (readers fail on less when the terminal's edge is busy).
inline constexpr int kQrQuietZone = 4;

// The modules of `text`'s QR code (error correction M, byte mode, the
// smallest version that holds it): matrix[y][x] is true for a dark module.
// Without the quiet zone. INVALID_ARGUMENT when the text does not fit.
absl::StatusOr<std::vector<std::vector<bool>>> QrModules(absl::string_view text);

// The code drawn with the quiet zone, one line per two module rows, each
// line ending in '\n'. Light modules are drawn (full block U+2588, upper
// half U+2580, lower half U+2584) and dark ones left blank, as
// `qrencode -t UTF8` does: on the usual dark terminal the symbol then shows
// dark on light, as a reader expects.
std::string DrawQr(const std::vector<std::vector<bool>>& modules);

// QrModules() then DrawQr().
absl::StatusOr<std::string> RenderQr(absl::string_view text);

}  // namespace leafsvc::client

#endif  // CLIENT_QR_H_
