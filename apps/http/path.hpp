// Request paths to files under a document root that no request can leave.
//
// A path is percent-decoded (RFC 3986 §2.1; a malformed escape or an encoded NUL is refused),
// split into segments at '/' after decoding (so %2F separates too), empty segments ("//") and
// "." dropped, ".." taking one segment back (RFC 3986 §5.2.4) and refused if it would climb
// above the root. Only then is the file system asked: the joined path is resolved with
// realpath (std::filesystem::canonical, every symlink followed) and must still lie inside the
// root's own canonical path, so a symlink that points out of the root is not followed out of
// it. What it names must be a regular file, or a directory holding an index.html.
//
// A directory asked for without the trailing slash is answered with a redirect to the same
// path with the slash (301, as Apache and nginx do), so relative links in its index.html
// resolve against the directory; with the slash, its index.html is served. There are no
// directory listings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "apps/http/message.hpp"

namespace tapir::apps::http {

// %XX (either case) to the byte it names; other characters kept. '+' stays '+' (it means a
// space only in form data, never in a path). Errors: a '%' not followed by two hex digits,
// and an encoded NUL (%00), which no file name can hold.
tl::expected<std::string, std::string> percent_decode(std::string_view text);

// Percent-encodes what is not an unreserved character, a sub-delimiter, ':', '@' or '/'
// (RFC 3986 §3.3's pchar and the separator), for a path put back into a header (Location).
std::string percent_encode_path(std::string_view path);

// The segments of a decoded absolute path after RFC 3986 §5.2.4's dot-segment removal; an
// error if ".." would go above the root, or the path does not start with '/'.
tl::expected<std::vector<std::string>, std::string> path_segments(std::string_view decoded);

class DocumentRoot {
 public:
  // The root at `dir`, made canonical; an error line if it is not a readable directory.
  static tl::expected<DocumentRoot, std::string> open(const std::filesystem::path& dir);

  struct Target {
    enum class Kind : std::uint8_t {
      File,      // serve `file`
      Redirect,  // a directory without its trailing slash: 301 to the path with it
    };
    Kind kind = Kind::File;
    std::filesystem::path file;  // canonical, inside the root
  };

  // The file that a request path (still percent-encoded, as in the request) names. Errors:
  // 400 for a malformed escape, an encoded NUL or a ".." above the root; 404 for what does not
  // exist, is not a regular file, is a directory without an index.html, is a file named with a
  // trailing slash, or lies outside the root after symlinks are followed; 403 for what the
  // server may not read (EACCES).
  tl::expected<Target, Status> resolve(std::string_view encoded_path) const;

  const std::filesystem::path& path() const { return root_; }

 private:
  explicit DocumentRoot(std::filesystem::path root) : root_(std::move(root)) {}
  // Whether canonical path p is the root or inside it.
  bool contains(const std::filesystem::path& p) const;
  // canonical(p) if it lies inside the root; the error status otherwise.
  tl::expected<std::filesystem::path, Status> inside(const std::filesystem::path& p) const;

  std::filesystem::path root_;
};

}  // namespace tapir::apps::http
