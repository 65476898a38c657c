#include "apps/http/path.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <fmt/core.h>

namespace tapir::apps::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status status_of(const std::error_code& error) {
  if (error == std::errc::permission_denied) return Status::Forbidden;
  return Status::NotFound;  // ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, ...
}

}  // namespace

tl::expected<std::string, std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return failure("a '%' not followed by two hex digits");
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return failure("a '%' not followed by two hex digits");
    const auto byte = static_cast<char>(hi * 16 + lo);
    if (byte == '\0') return failure("an encoded NUL (%00)");
    out += byte;
    i += 2;
  }
  return out;
}

std::string percent_encode_path(std::string_view path) {
  static constexpr std::string_view kKeep = "-._~!$&'()*+,;=:@/";
  std::string out;
  for (const char c : path) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || kKeep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

tl::expected<std::vector<std::string>, std::string> path_segments(std::string_view decoded) {
  if (decoded.empty() || decoded.front() != '/') return failure("not an absolute path");
  std::vector<std::string> segments;
  while (!decoded.empty()) {
    decoded.remove_prefix(1);  // the '/'
    const auto slash = decoded.find('/');
    const auto segment = decoded.substr(0, slash);
    decoded.remove_prefix(slash == std::string_view::npos ? decoded.size() : slash);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (segments.empty()) return failure("a \"..\" above the root");
      segments.pop_back();
      continue;
    }
    segments.emplace_back(segment);
  }
  return segments;
}

tl::expected<DocumentRoot, std::string> DocumentRoot::open(const std::filesystem::path& dir) {
  std::error_code error;
  auto root = std::filesystem::canonical(dir, error);
  if (error) return failure(fmt::format("--root {}: {}", dir.string(), error.message()));
  if (!std::filesystem::is_directory(root, error))
    return failure(fmt::format("--root {}: not a directory", dir.string()));
  return DocumentRoot(std::move(root));
}

bool DocumentRoot::contains(const std::filesystem::path& p) const {
  // Compared element by element, so /srv/www2 is not inside /srv/www.
  // Both are canonical: no ".", "..", symlink or trailing slash is left in either.
  return std::mismatch(root_.begin(), root_.end(), p.begin(), p.end()).first == root_.end();
}

tl::expected<std::filesystem::path, Status> DocumentRoot::inside(
    const std::filesystem::path& p) const {
  std::error_code error;
  auto real = std::filesystem::canonical(p, error);
  if (error) return tl::unexpected(status_of(error));
  if (!contains(real)) return tl::unexpected(Status::NotFound);  // a symlink out of the root
  return real;
}

tl::expected<DocumentRoot::Target, Status> DocumentRoot::resolve(
    std::string_view encoded_path) const {
  auto decoded = percent_decode(encoded_path);
  if (!decoded) return tl::unexpected(Status::BadRequest);
  auto segments = path_segments(*decoded);
  if (!segments) return tl::unexpected(Status::BadRequest);
  const bool trailing_slash = decoded->back() == '/';

  std::filesystem::path p = root_;
  for (const auto& s : *segments)
    p /= s;  // no segment is empty, absolute or holds '/': it can only go down
  auto real = inside(p);
  if (!real) return tl::unexpected(real.error());

  std::error_code error;
  const auto status = std::filesystem::status(*real, error);
  if (error) return tl::unexpected(status_of(error));
  if (std::filesystem::is_directory(status)) {
    if (!trailing_slash) return Target{Target::Kind::Redirect, *real};
    auto index = inside(*real / "index.html");
    if (!index) return tl::unexpected(index.error());
    if (!std::filesystem::is_regular_file(*index, error)) return tl::unexpected(Status::NotFound);
    return Target{Target::Kind::File, *index};
  }
  if (!std::filesystem::is_regular_file(status) || trailing_slash)
    return tl::unexpected(Status::NotFound);
  return Target{Target::Kind::File, *real};
}

}  // namespace tapir::apps::http
