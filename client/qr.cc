#include "client/qr.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace leafsvc::client {
namespace {

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

// The longest text encoded: a link's URL is about 100 bytes; this bounds
// the work on a hostile server's answer (version 40-M holds 2331 bytes).
constexpr size_t kMaxQrText = 2048;

}  // namespace

absl::StatusOr<std::vector<std::vector<bool>>> QrModules(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("nothing to encode as a QR code");
  if (text.size() > kMaxQrText) {
    return absl::InvalidArgumentError("the URL is too long for a QR code");
  }
  // 8-bit mode over the exact bytes: QRcode_encodeData takes a length, so
  // a NUL in a hostile answer cannot cut the text short.
  const std::string data(text);
  std::unique_ptr<QRcode, QrFree> code(
      QRcode_encodeData(static_cast<int>(data.size()),
                        reinterpret_cast<const unsigned char*>(data.data()), 0, QR_ECLEVEL_M));
  if (code == nullptr) {
    return absl::InvalidArgumentError(errno == ERANGE ? "the URL is too long for a QR code"
                                                      : "cannot encode the QR code");
  }
  const int width = code->width;
  std::vector<std::vector<bool>> modules(width, std::vector<bool>(width));
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      modules[y][x] = (code->data[y * width + x] & 1) != 0;  // bit 0: dark
    }
  }
  return modules;
}

std::string DrawQr(const std::vector<std::vector<bool>>& modules) {
  const int width = static_cast<int>(modules.size());
  const int size = width + 2 * kQrQuietZone;
  // Outside the symbol is the quiet zone: light.
  auto dark = [&](int y, int x) {
    y -= kQrQuietZone;
    x -= kQrQuietZone;
    if (y < 0 || x < 0 || y >= width || x >= width) return false;
    return static_cast<bool>(modules[y][x]);
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      const bool top_light = !dark(y, x);
      // An odd last row: its lower half is beyond the code, shown blank.
      const bool bottom_light = y + 1 < size && !dark(y + 1, x);
      if (top_light && bottom_light) {
        out += "\u2588";
      } else if (top_light) {
        out += "\u2580";
      } else if (bottom_light) {
        out += "\u2584";
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

absl::StatusOr<std::string> RenderQr(absl::string_view text) {
  absl::StatusOr<std::vector<std::vector<bool>>> modules = QrModules(text);
  if (!modules.ok()) return modules.status();
  return DrawQr(*modules);
}

}  // namespace leafsvc::client
