#include "server/secrets/redact.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "server/text/utf8.h"

namespace leafsvc {
namespace {

uint64_t Word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '=';
}

// End of the base64url run starting at `i`.
size_t SkipBase64Url(absl::string_view s, size_t i) {
  while (i < s.size() && IsBase64Url(s[i])) ++i;
  return i;
}

// Marks JWT-shaped strings: a header that starts "eyJ" ('{"' in base64url),
// a payload and a (possibly empty, for alg "none") signature.
void MarkJwts(absl::string_view text, std::vector<bool>& hit) {
  for (size_t p = text.find("eyJ"); p != absl::string_view::npos; p = text.find("eyJ", p + 1)) {
    size_t end = SkipBase64Url(text, p + 3);
    if (end >= text.size() || text[end] != '.') continue;
    const size_t payload = end + 1;
    end = SkipBase64Url(text, payload);
    if (end == payload || end >= text.size() || text[end] != '.') continue;
    end = SkipBase64Url(text, end + 1);
    for (size_t i = p; i < end; ++i) hit[i] = true;
  }
}

using RecentSets = std::vector<std::shared_ptr<const SecretSet>>;

struct Registry {
  absl::Mutex mu;
  std::shared_ptr<const SecretSet> secrets ABSL_GUARDED_BY(mu) =
      std::make_shared<const SecretSet>();
  // Oldest first, at most kRecentSecrets; replaced whole on each change (a
  // few pointers), so Redactors made earlier keep theirs.
  std::shared_ptr<const RecentSets> recent ABSL_GUARDED_BY(mu) =
      std::make_shared<const RecentSets>();
};

Registry& GetRegistry() {
  static auto* registry = new Registry;  // never destroyed: used until exit
  return *registry;
}

}  // namespace

void RegisterProcessSecret(absl::string_view secret) {
  if (secret.size() < kMinSecretBytes) return;
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  // Copy on write: Redactors made earlier keep the set they started with.
  auto grown = std::make_shared<SecretSet>(*r.secrets);
  grown->Add(secret);
  r.secrets = std::move(grown);
}

void RegisterRotatingSecret(absl::string_view secret) {
  if (secret.size() < kMinSecretBytes) return;
  // Compiled outside the lock: only this secret's runs.
  auto compiled =
      std::make_shared<const SecretSet>(absl::Span<const absl::string_view>(&secret, 1));
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  auto recent = std::make_shared<RecentSets>();
  recent->reserve(kRecentSecrets);
  const size_t keep = std::min(r.recent->size(), kRecentSecrets - 1);
  recent->assign(r.recent->end() - keep, r.recent->end());
  recent->push_back(std::move(compiled));
  r.recent = std::move(recent);
}

SecretSet::SecretSet(absl::Span<const absl::string_view> secrets) {
  for (absl::string_view s : secrets) Add(s);
}

void SecretSet::Add(absl::string_view secret) {
  if (secret.size() < kMinSecretBytes) return;
  if (secret.size() < kSecretRunBytes) {
    if (!absl::StrContains(kRedacted, secret)) whole_.emplace_back(secret);
    return;
  }
  runs_.reserve(runs_.size() + secret.size());
  for (size_t i = 0; i + kSecretRunBytes <= secret.size(); ++i) {
    const absl::string_view run = secret.substr(i, kSecretRunBytes);
    // Runs of the marker itself are not secret: the output is full of them.
    if (absl::StrContains(kRedacted, run)) continue;
    runs_.insert(Word(run.data()));
  }
}

void SecretSet::Mark(absl::string_view text, std::vector<bool>& hit) const {
  if (!runs_.empty()) {
    for (size_t i = 0; i + kSecretRunBytes <= text.size(); ++i) {
      if (runs_.contains(Word(text.data() + i))) {
        for (size_t k = i; k < i + kSecretRunBytes; ++k) hit[k] = true;
      }
    }
  }
  for (const std::string& secret : whole_) {
    for (size_t p = text.find(secret); p != absl::string_view::npos; p = text.find(secret, p + 1)) {
      for (size_t k = p; k < p + secret.size(); ++k) hit[k] = true;
    }
  }
}

Redactor::Redactor(absl::Span<const absl::string_view> call_secrets) : call_(call_secrets) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  process_ = r.secrets;
  recent_ = r.recent;
}

void Redactor::Mark(absl::string_view text, std::vector<bool>& hit) const {
  call_.Mark(text, hit);
  process_->Mark(text, hit);
  for (const std::shared_ptr<const SecretSet>& set : *recent_) set->Mark(text, hit);
  MarkJwts(text, hit);
}

bool Redactor::Covers(absl::string_view text) const {
  std::vector<bool> hit(text.size(), false);
  Mark(text, hit);
  for (bool h : hit) {
    if (h) return true;
  }
  return false;
}

std::string Redactor::Redact(absl::string_view text) const {
  std::string current = IsValidUtf8(text) ? std::string(text) : ValidUtf8(text);
  // A replacement can, in theory, join with its neighbours into a new match
  // (a secret that contains part of the marker); a few passes settle it, and
  // if they do not the whole text goes.
  for (int pass = 0; pass < 4; ++pass) {
    const absl::string_view in = current;
    std::vector<bool> hit(in.size(), false);
    Mark(in, hit);
    // Whole characters only, so the output stays valid UTF-8.
    for (size_t i = 0; i < in.size(); ++i) {
      if (!hit[i]) continue;
      size_t s = i;
      while (s > 0 && IsContinuation(in[s])) hit[--s] = true;
      while (i + 1 < in.size() && IsContinuation(in[i + 1])) hit[++i] = true;
    }
    // Nothing matched (the usual case): the text stands as it is.
    if (std::find(hit.begin(), hit.end(), true) == hit.end()) return current;
    std::string out;
    out.reserve(in.size());
    bool changed = false;
    for (size_t i = 0; i < in.size();) {
      if (!hit[i]) {
        out.push_back(in[i++]);
        continue;
      }
      changed = true;
      out.append(kRedacted.data(), kRedacted.size());
      while (i < in.size() && hit[i]) ++i;
    }
    if (!changed) return current;
    current = std::move(out);
  }
  return Covers(current) ? std::string(kRedacted) : current;
}

std::string Redactor::RedactAndShorten(absl::string_view text, size_t max_bytes) const {
  return Shorten(Redact(text), max_bytes);
}

std::string Shorten(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::string out(Utf8Prefix(text, max_bytes));
  out.append("...");
  return out;
}

}  // namespace leafsvc
