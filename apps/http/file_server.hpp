// The static-file answers of tapir-httpd, decided without the network: a parsed request in,
// the response head and what follows it out (an error page, or a file opened for reading).
//
//   FileServer server(*DocumentRoot::open("/srv/www"));
//   Reply reply = server.respond(request, http_date(now));
//   send(reply.head.serialize());
//   if (reply.send_body) send(reply.body) or stream reply.file, reply.body_length bytes
//   if (!reply.keep_alive) close after it
//
// Methods: GET and HEAD (HEAD gets GET's head, no body); any other is 405 Method Not Allowed
// with "Allow: GET, HEAD". Paths: DocumentRoot::resolve (path.hpp); a directory without its
// trailing slash is redirected (301, Location: the normalized path with the slash and the
// query). Every response has Server: tapir-httpd, Content-Length, Connection (keep-alive or
// close, by RFC 9112 §9.3 for the request) and, when a date is given, Date; the version is
// always HTTP/1.1 (RFC 9110 §2.5). Error statuses carry a small HTML page (error_body()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

#include "apps/http/message.hpp"
#include "apps/http/path.hpp"
#include "apps/http/request.hpp"
#include "apps/http/response.hpp"

namespace tapir::apps::http {

// An open file descriptor, closed by the destructor.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  FileHandle(FileHandle&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileHandle& operator=(FileHandle&& o) noexcept;
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  ~FileHandle() { reset(); }

  // Opens a regular file for reading (never blocking on a FIFO: it is refused).
  // permission_denied, no_such_file_or_directory, or invalid_argument for what is not a regular
  // file; the size comes with it.
  static tl::expected<FileHandle, std::error_code> open_regular(const std::string& path,
                                                                std::uint64_t& size);

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Up to `size` bytes from the current offset into `out`; 0 at the end of the file.
  tl::expected<std::size_t, std::error_code> read(char* out, std::size_t size);
  void reset();

 private:
  int fd_ = -1;
};

struct Reply {
  ResponseHead head;
  std::string body;               // a generated body (error or redirect page), or empty
  FileHandle file;                // or the file whose bytes follow the head
  std::uint64_t body_length = 0;  // what Content-Length says
  bool send_body = true;          // false for HEAD
  bool keep_alive = true;         // false: close after sending this

  unsigned status() const { return head.status; }
};

class FileServer {
 public:
  static constexpr std::string_view kServer = "tapir-httpd";
  static constexpr std::string_view kAllow = "GET, HEAD";

  explicit FileServer(DocumentRoot root) : root_(std::move(root)) {}

  // The answer to a parsed request. `date` is the Date field's value (http_date()), or empty to
  // send none.
  Reply respond(const Request& request, std::string_view date) const;
  // The answer to a request that could not be handled as a whole (a parse error, a body too
  // large): the error page with Connection: close. head_only: for a HEAD request.
  static Reply error(Status status, std::string_view date, bool head_only = false);

  const DocumentRoot& root() const { return root_; }

 private:
  DocumentRoot root_;
};

}  // namespace tapir::apps::http
