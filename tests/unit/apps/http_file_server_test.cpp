// apps/http/file_server.hpp and mime.hpp: tapir-httpd's answers, decided without the network,
// checked head byte for byte.
#include <string>

#include <gtest/gtest.h>

#include "apps/http/file_server.hpp"
#include "apps/http/mime.hpp"
#include "tests/unit/apps/http_fixture.hpp"

namespace tapir::apps::http {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

TEST(HttpContentType, ByExtension) {
  EXPECT_EQ(content_type("/a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("x.HTM"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("notes.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(content_type("s.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type("d.json"), "application/json");
  EXPECT_EQ(content_type("p.png"), "image/png");
  EXPECT_EQ(content_type("p.jpg"), "image/jpeg");
  EXPECT_EQ(content_type("p.JPEG"), "image/jpeg");
  EXPECT_EQ(content_type("p.gif"), "image/gif");
  EXPECT_EQ(content_type("p.svg"), "image/svg+xml");
  EXPECT_EQ(content_type("favicon.ico"), "image/vnd.microsoft.icon");
  EXPECT_EQ(content_type("doc.pdf"), "application/pdf");
  EXPECT_EQ(content_type("m.wasm"), "application/wasm");
  EXPECT_EQ(content_type("f.bin"), "application/octet-stream");
  EXPECT_EQ(content_type("Makefile"), "application/octet-stream");
  EXPECT_EQ(content_type("archive.tar.gz"), "application/octet-stream");
  EXPECT_EQ(content_type(".html"), "application/octet-stream");  // a dotfile, no extension
  EXPECT_EQ(content_type("dir.html/file"), "application/octet-stream");
  EXPECT_EQ(content_type("trailing."), "application/octet-stream");
}

class HttpFileServer : public DocumentRootFixture {
 protected:
  Reply ask(std::string_view head) {
    auto request = parse_request(head);
    EXPECT_TRUE(request) << head;
    return server().respond(*request, kDate);
  }
  Reply get(std::string_view path, std::string_view extra = "") {
    return ask(std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: a\r\n" +
               std::string(extra) + "\r\n");
  }
  FileServer server() { return FileServer(*DocumentRoot::open(www_)); }

  static std::string read_all(Reply& r) {
    std::string out;
    char buffer[7];  // small, to read in several pieces
    for (;;) {
      auto n = r.file.read(buffer, sizeof buffer);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      out.append(buffer, *n);
    }
    return out;
  }
};

TEST_F(HttpFileServer, GetOfAFile) {
  auto r = get("/hello.txt");
  EXPECT_EQ(r.head.serialize(),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: tapir-httpd\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 6\r\n"
            "Connection: keep-alive\r\n"
            "\r\n");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.send_body);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.body_length, 6U);
  ASSERT_TRUE(r.file.is_open());
  EXPECT_EQ(read_all(r), "hello\n");
}

TEST_F(HttpFileServer, IndexOfTheRootAndOfADirectory) {
  auto root = get("/");
  EXPECT_EQ(root.status(), 200U);
  EXPECT_EQ(root.head.fields.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(read_all(root), "<h1>home</h1>");
  auto sub = get("/sub/");
  EXPECT_EQ(read_all(sub), "sub");
}

TEST_F(HttpFileServer, HeadHasGetsHeadAndNoBody) {
  auto r = ask("HEAD /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.status(), 200U);
  EXPECT_EQ(r.head.fields.get("Content-Length"), "6");
  EXPECT_FALSE(r.send_body);
  EXPECT_FALSE(r.file.is_open());
  auto missing = ask("HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(missing.status(), 404U);
  EXPECT_FALSE(missing.send_body);
  EXPECT_EQ(missing.head.fields.get("Content-Length"), std::to_string(error_body(404).size()));
}

TEST_F(HttpFileServer, DateIsOptional) {
  auto request = parse_request("GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = server().respond(*request, "");
  EXPECT_EQ(r.head.fields.get("Date"), std::nullopt);
  EXPECT_EQ(r.head.fields.all().front().name, "Server");
}

TEST_F(HttpFileServer, NotFoundHasAnErrorPageAndKeepsTheConnection) {
  auto r = get("/missing.html");
  const auto body = error_body(404);
  EXPECT_EQ(r.head.serialize(),
            "HTTP/1.1 404 Not Found\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: tapir-httpd\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: " +
                std::to_string(body.size()) +
                "\r\n"
                "Connection: keep-alive\r\n"
                "\r\n");
  EXPECT_EQ(r.body, body);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.file.is_open());
}

TEST_F(HttpFileServer, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    auto r = ask(std::string(method) + " /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.status(), 405U) << method;
    EXPECT_EQ(r.head.fields.get("Allow"), "GET, HEAD") << method;
    EXPECT_EQ(r.body, error_body(405));
    EXPECT_TRUE(r.send_body);
  }
}

TEST_F(HttpFileServer, DirectoryWithoutSlashIsRedirected) {
  auto r = get("/sub");
  EXPECT_EQ(r.status(), 301U);
  EXPECT_EQ(r.head.fields.get("Location"), "/sub/");
  EXPECT_EQ(r.body, error_body(301));
  auto q = get("/./sub?a=1");
  EXPECT_EQ(q.head.fields.get("Location"), "/sub/?a=1");
  auto z = get("//sub/../sub");
  EXPECT_EQ(z.head.fields.get("Location"), "/sub/");
}

TEST_F(HttpFileServer, EscapesAre400AndSymlinksOut404) {
  EXPECT_EQ(get("/../outside/secret.txt").status(), 400U);
  EXPECT_EQ(get("/%2e%2e/outside/secret.txt").status(), 400U);
  EXPECT_EQ(get("/hello.txt%00").status(), 400U);
  EXPECT_EQ(get("/link_out").status(), 404U);
  EXPECT_EQ(get("/dir_out/secret.txt").status(), 404U);
  EXPECT_EQ(get("/fifo").status(), 404U);
}

TEST_F(HttpFileServer, ContentTypeByTheNameAskedFor) {
  EXPECT_EQ(get("/pic.PNG").head.fields.get("Content-Type"), "image/png");
  EXPECT_EQ(get("/data.bin").head.fields.get("Content-Type"), "application/octet-stream");
  EXPECT_EQ(get("/noext").head.fields.get("Content-Type"), "application/octet-stream");
  EXPECT_EQ(get("/sub/page.htm").head.fields.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/link_in").head.fields.get("Content-Type"), "application/octet-stream");
}

TEST_F(HttpFileServer, ConnectionFollowsTheRequest) {
  EXPECT_EQ(get("/hello.txt", "Connection: close\r\n").head.fields.get("Connection"), "close");
  EXPECT_FALSE(get("/hello.txt", "Connection: close\r\n").keep_alive);
  auto old = ask("GET /hello.txt HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(old.keep_alive);
  EXPECT_EQ(old.head.fields.get("Connection"), "close");
  EXPECT_EQ(old.head.version, (Version{1, 1}));  // RFC 9110 §2.5: our version, always
  auto old_ka = ask("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(old_ka.keep_alive);
  EXPECT_EQ(old_ka.head.fields.get("Connection"), "keep-alive");
}

TEST_F(HttpFileServer, ParseErrorsCloseTheConnection) {
  auto r = FileServer::error(Status::BadRequest, kDate);
  EXPECT_EQ(r.status(), 400U);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.head.fields.get("Connection"), "close");
  EXPECT_EQ(r.body, error_body(400));
  auto large = FileServer::error(Status::RequestHeaderFieldsTooLarge, kDate);
  EXPECT_EQ(large.head.serialize().rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0),
            0U);
  EXPECT_FALSE(FileServer::error(Status::BadRequest, kDate, true).send_body);
}

}  // namespace
}  // namespace tapir::apps::http
