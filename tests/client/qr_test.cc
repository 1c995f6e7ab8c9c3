// The QR code of a connect link: what is drawn is exactly libqrencode's
// symbol (read back from the half blocks module by module), with a light
// quiet zone of 4 modules and the three finder patterns where a reader
// looks for them; hostile input (too long, NUL bytes) is refused or
// encoded whole, never cut.
#include "client/qr.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace leafsvc::client {
namespace {

using Matrix = std::vector<std::vector<bool>>;

constexpr char kUrl[] = "https://connect.example.com/connect/Zx3f9Qk2LmN8pR4tV6wY1aB5cD7eF0gH";

// Reads a drawing back into modules (true: dark), quiet zone included.
Matrix ReadBack(const std::string& drawing) {
  Matrix rows;
  for (absl::string_view line : absl::StrSplit(drawing, '\n', absl::SkipEmpty())) {
    std::vector<bool> top, bottom;
    for (size_t i = 0; i < line.size();) {
      if (line[i] == ' ') {  // both dark
        top.push_back(true);
        bottom.push_back(true);
        ++i;
        continue;
      }
      const absl::string_view glyph = line.substr(i, 3);
      EXPECT_TRUE(glyph == "\u2588" || glyph == "\u2580" || glyph == "\u2584") << line;
      top.push_back(glyph == "\u2584");  // only the lower half light: top dark
      bottom.push_back(glyph == "\u2580");
      i += 3;
    }
    rows.push_back(top);
    rows.push_back(bottom);
  }
  return rows;
}

void ExpectFinder(const Matrix& m, int y0, int x0) {
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 7; ++x) {
      const bool ring = y == 1 || y == 5 || x == 1 || x == 5;
      const bool inside_ring = y > 0 && y < 6 && x > 0 && x < 6;
      const bool dark = !(ring && inside_ring);
      EXPECT_EQ(m[y0 + y][x0 + x], dark)
          << "finder at " << y0 << "," << x0 << ": " << y << "," << x;
    }
  }
}

TEST(QrTest, DrawingIsTheSymbolWithAQuietZone) {
  absl::StatusOr<Matrix> modules = QrModules(kUrl);
  ASSERT_TRUE(modules.ok()) << modules.status();
  const int width = static_cast<int>(modules->size());
  ASSERT_EQ((width - 21) % 4, 0) << "not a QR symbol size: " << width;
  EXPECT_LE(width, 37) << "a link's URL should need a small version (<= 5)";

  const std::string drawing = DrawQr(*modules);
  Matrix read = ReadBack(drawing);
  const int size = width + 2 * kQrQuietZone;
  // An odd size leaves half a line: its lower half is the terminal's
  // background, beyond the full quiet zone checked below.
  ASSERT_EQ(static_cast<int>(read.size()), size + size % 2);
  for (int y = 0; y < size; ++y) {
    ASSERT_EQ(static_cast<int>(read[y].size()), size) << "row " << y;
    for (int x = 0; x < size; ++x) {
      const int sy = y - kQrQuietZone, sx = x - kQrQuietZone;
      const bool in_symbol = sy >= 0 && sx >= 0 && sy < width && sx < width;
      if (in_symbol) {
        EXPECT_EQ(read[y][x], (*modules)[sy][sx]) << y << "," << x;
      } else {
        EXPECT_FALSE(read[y][x]) << "quiet zone dark at " << y << "," << x;
      }
    }
  }
  ExpectFinder(read, kQrQuietZone, kQrQuietZone);
  ExpectFinder(read, kQrQuietZone, kQrQuietZone + width - 7);
  ExpectFinder(read, kQrQuietZone + width - 7, kQrQuietZone);
}

// The drawing, read back and scaled to pixels, decoded by a real reader
// (zbarimg, Debian's zbar-tools) when the machine has one.
TEST(QrTest, ARealReaderScansTheDrawing) {
  if (std::fopen("/usr/bin/zbarimg", "r") == nullptr) {
    GTEST_SKIP() << "no /usr/bin/zbarimg (apt-get install zbar-tools)";
  }
  absl::StatusOr<std::string> drawing = RenderQr(kUrl);
  ASSERT_TRUE(drawing.ok());
  const Matrix read = ReadBack(*drawing);
  constexpr int kScale = 6;
  const int height = static_cast<int>(read.size()), width = static_cast<int>(read[0].size());
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string pgm = std::string(dir != nullptr ? dir : "/tmp") + "/qr.pgm";
  {
    std::ofstream image(pgm, std::ios::binary);
    image << "P5\n" << width * kScale << " " << height * kScale << "\n255\n";
    for (int y = 0; y < height * kScale; ++y) {
      for (int x = 0; x < width * kScale; ++x) {
        image.put(read[y / kScale][x / kScale] ? '\0' : '\xff');
      }
    }
  }
  const std::string command = "/usr/bin/zbarimg --quiet --raw " + pgm;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string decoded;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) decoded += buffer;
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(decoded, std::string(kUrl) + "\n");
}

TEST(QrTest, DifferentUrlsDifferentSymbols) {
  absl::StatusOr<Matrix> a = QrModules(kUrl);
  absl::StatusOr<Matrix> b = QrModules(std::string(kUrl) + "X");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
}

TEST(QrTest, RefusesEmptyAndOversizedText) {
  EXPECT_FALSE(RenderQr("").ok());
  absl::StatusOr<std::string> huge = RenderQr(std::string(100000, 'a'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(huge.status().message().size(), 100u) << "the text must not be quoted";
}

TEST(QrTest, NulBytesAreEncodedNotTruncated) {
  const std::string with_nul("https://a.example/\0evil", 23);
  absl::StatusOr<Matrix> whole = QrModules(with_nul);
  absl::StatusOr<Matrix> cut = QrModules("https://a.example/");
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(cut.ok());
  EXPECT_NE(*whole, *cut);
}

TEST(QrTest, OnlyBlocksSpacesAndNewlines) {
  absl::StatusOr<std::string> drawing = RenderQr(kUrl);
  ASSERT_TRUE(drawing.ok());
  EXPECT_EQ(drawing->find('\x1b'), std::string::npos) << "no escape sequences";
  EXPECT_EQ(drawing->find("https"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc::client
