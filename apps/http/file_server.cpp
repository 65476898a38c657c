#include "apps/http/file_server.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include <fmt/core.h>

#include "apps/http/mime.hpp"

namespace tapir::apps::http {
namespace {

// The fields every response has, in the order they are sent.
Reply make_reply(unsigned status, std::string_view date, std::string_view content_type,
                 std::uint64_t length, bool keep_alive) {
  Reply r;
  r.head.status = status;
  if (!date.empty()) r.head.fields.add("Date", std::string(date));
  r.head.fields.add("Server", std::string(FileServer::kServer));
  if (!content_type.empty()) r.head.fields.add("Content-Type", std::string(content_type));
  r.head.fields.add("Content-Length", fmt::format("{}", length));
  r.body_length = length;
  r.keep_alive = keep_alive;
  return r;
}

void add_connection(Reply& r) {
  r.head.fields.add("Connection", r.keep_alive ? "keep-alive" : "close");
}

Reply error_reply(unsigned status, std::string_view date, bool keep_alive, bool head_only) {
  auto body = error_body(status);
  Reply r = make_reply(status, date, "text/html; charset=utf-8", body.size(), keep_alive);
  r.body = std::move(body);
  r.send_body = !head_only;
  return r;
}

}  // namespace

FileHandle& FileHandle::operator=(FileHandle&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void FileHandle::reset() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

tl::expected<FileHandle, std::error_code> FileHandle::open_regular(const std::string& path,
                                                                   std::uint64_t& size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  FileHandle file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.is_open()) return tl::unexpected(std::error_code(errno, std::generic_category()));
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0)
    return tl::unexpected(std::error_code(errno, std::generic_category()));
  if (!S_ISREG(st.st_mode))
    return tl::unexpected(std::make_error_code(std::errc::invalid_argument));
  size = static_cast<std::uint64_t>(st.st_size);
  return file;
}

tl::expected<std::size_t, std::error_code> FileHandle::read(char* out, std::size_t size) {
  for (;;) {
    const auto n = ::read(fd_, out, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return tl::unexpected(std::error_code(errno, std::generic_category()));
  }
}

Reply FileServer::error(Status status, std::string_view date, bool head_only) {
  Reply r = error_reply(code(status), date, false, head_only);
  add_connection(r);
  return r;
}

Reply FileServer::respond(const Request& request, std::string_view date) const {
  const bool keep_alive = request.keep_alive();
  const bool head_only = request.method == "HEAD";
  auto finish = [](Reply r) {
    add_connection(r);
    return r;
  };
  if (request.method != "GET" && !head_only) {
    // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
    Reply r = error_reply(code(Status::MethodNotAllowed), date, keep_alive, false);
    r.head.fields.add("Allow", std::string(kAllow));
    return finish(std::move(r));
  }

  auto target = root_.resolve(request.path);
  if (!target) return finish(error_reply(code(target.error()), date, keep_alive, head_only));

  if (target->kind == DocumentRoot::Target::Kind::Redirect) {
    // The normalized path with the slash (resolve() accepted it, so it decodes and normalizes).
    std::string location = "/";
    const auto segments = *path_segments(*percent_decode(request.path));
    for (const auto& segment : segments)
      location += percent_encode_path(segment) + "/";
    if (!request.query.empty()) location += "?" + request.query;
    auto body = error_body(code(Status::MovedPermanently));
    Reply r = make_reply(code(Status::MovedPermanently), date, "text/html; charset=utf-8",
                         body.size(), keep_alive);
    r.head.fields.add("Location", location);
    r.body = std::move(body);
    r.send_body = !head_only;
    return finish(std::move(r));
  }

  std::uint64_t size = 0;
  auto file = FileHandle::open_regular(target->file.string(), size);
  if (!file) {
    const auto status =
        file.error() == std::errc::permission_denied ? Status::Forbidden : Status::NotFound;
    return finish(error_reply(code(status), date, keep_alive, head_only));
  }
  // The type by the name asked for (as nginx does), index.html for a directory.
  const auto decoded = *percent_decode(request.path);
  const std::string_view name = decoded.back() == '/' ? std::string_view("index.html") : decoded;
  Reply r = make_reply(code(Status::Ok), date, content_type(name), size, keep_alive);
  r.send_body = !head_only;
  if (!head_only) r.file = std::move(*file);
  return finish(std::move(r));
}

}  // namespace tapir::apps::http
