// apps/http/path.hpp: percent-decoding (RFC 3986 §2.1), dot segments (RFC 3986 §5.2.4), and a
// document root that no request path leaves: "..", encoded "..", "//", NUL bytes and symlinks
// out of the root.
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "apps/http/path.hpp"
#include "tests/unit/apps/http_fixture.hpp"

namespace tapir::apps::http {
namespace {

using Kind = DocumentRoot::Target::Kind;

TEST(HttpPercentDecode, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(*percent_decode("/a%20b"), "/a b");
  EXPECT_EQ(*percent_decode("%2e%2E%2f"), "../");
  EXPECT_EQ(*percent_decode("%C3%A9"), "\xc3\xa9");
  EXPECT_EQ(*percent_decode("a+b"), "a+b");  // '+' is not a space in a path
  EXPECT_EQ(*percent_decode(""), "");
  EXPECT_EQ(*percent_decode("%25"), "%");
  EXPECT_EQ(*percent_decode("%2541"), "%41");  // decoded once, never twice
}

TEST(HttpPercentDecode, RefusesMalformedEscapesAndNul) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("a%4"));
  EXPECT_FALSE(percent_decode("%G1"));
  EXPECT_FALSE(percent_decode("%1g"));
  EXPECT_FALSE(percent_decode("/a%00.txt"));
}

TEST(HttpPercentEncode, KeepsPathCharactersOnly) {
  EXPECT_EQ(percent_encode_path("/a b/c%d"), "/a%20b/c%25d");
  EXPECT_EQ(percent_encode_path("/x-y_z.~!$&'()*+,;=:@"), "/x-y_z.~!$&'()*+,;=:@");
  EXPECT_EQ(percent_encode_path("?#\xc3\xa9"), "%3F%23%C3%A9");
}

TEST(HttpPathSegments, DotSegmentsAreRemoved) {
  using V = std::vector<std::string>;
  EXPECT_EQ(*path_segments("/"), V{});
  EXPECT_EQ(*path_segments("/a/b/"), (V{"a", "b"}));
  EXPECT_EQ(*path_segments("//a///b"), (V{"a", "b"}));
  EXPECT_EQ(*path_segments("/./a/./b/."), (V{"a", "b"}));
  EXPECT_EQ(*path_segments("/a/../b"), V{"b"});
  EXPECT_EQ(*path_segments("/a/b/../../c"), V{"c"});
  EXPECT_EQ(*path_segments("/a/.."), V{});
  EXPECT_EQ(*path_segments("/..."), V{"..."});  // only ".." exactly climbs
  EXPECT_EQ(*path_segments("/..a"), V{"..a"});
}

TEST(HttpPathSegments, ClimbingAboveTheRootIsRefused) {
  EXPECT_FALSE(path_segments("/.."));
  EXPECT_FALSE(path_segments("/../etc/passwd"));
  EXPECT_FALSE(path_segments("/a/../../etc/passwd"));
  EXPECT_FALSE(path_segments("//../x"));
  EXPECT_FALSE(path_segments("relative"));
  EXPECT_FALSE(path_segments(""));
}

using HttpDocumentRoot = DocumentRootFixture;

TEST_F(HttpDocumentRoot, OpenMakesTheRootCanonical) {
  auto root = DocumentRoot::open(www_ / "sub" / "..");
  ASSERT_TRUE(root) << root.error();
  EXPECT_EQ(root->path(), std::filesystem::canonical(www_));
  EXPECT_FALSE(DocumentRoot::open(base_ / "missing"));
  EXPECT_FALSE(DocumentRoot::open(www_ / "hello.txt"));
}

TEST_F(HttpDocumentRoot, ResolvesFilesAndIndexes) {
  const auto root = *DocumentRoot::open(www_);
  const auto www = root.path();
  auto file = [&](std::string_view path) {
    auto t = root.resolve(path);
    EXPECT_TRUE(t) << path;
    if (!t) return std::filesystem::path();
    EXPECT_EQ(t->kind, Kind::File) << path;
    return t->file;
  };
  EXPECT_EQ(file("/hello.txt"), www / "hello.txt");
  EXPECT_EQ(file("/"), www / "index.html");
  EXPECT_EQ(file("/sub/"), www / "sub" / "index.html");
  EXPECT_EQ(file("/sub/page.htm"), www / "sub" / "page.htm");
  EXPECT_EQ(file("/with%20space.txt"), www / "with space.txt");
  EXPECT_EQ(file("/%68ello.txt"), www / "hello.txt");
  EXPECT_EQ(file("//sub//page.htm"), www / "sub" / "page.htm");  // "//" is one separator
  EXPECT_EQ(file("/sub/../hello.txt"), www / "hello.txt");       // stays inside
  EXPECT_EQ(file("/./hello.txt"), www / "hello.txt");
  EXPECT_EQ(file("/link_in"), www / "hello.txt");  // a symlink inside the root is followed
}

TEST_F(HttpDocumentRoot, DirectoryWithoutItsSlashIsRedirected) {
  const auto root = *DocumentRoot::open(www_);
  auto t = root.resolve("/sub");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, Kind::Redirect);
  auto e = root.resolve("/empty");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Kind::Redirect);
}

TEST_F(HttpDocumentRoot, MissingThingsAre404) {
  const auto root = *DocumentRoot::open(www_);
  EXPECT_EQ(root.resolve("/nope.txt").error(), Status::NotFound);
  EXPECT_EQ(root.resolve("/empty/").error(), Status::NotFound);      // no index.html, no listing
  EXPECT_EQ(root.resolve("/hello.txt/").error(), Status::NotFound);  // a file is no directory
  EXPECT_EQ(root.resolve("/hello.txt/x").error(), Status::NotFound);
  EXPECT_EQ(root.resolve("/fifo").error(), Status::NotFound);  // not a regular file
  EXPECT_EQ(root.resolve("/loop").error(), Status::NotFound);  // ELOOP
}

TEST_F(HttpDocumentRoot, DotDotNeverLeavesTheRoot) {
  const auto root = *DocumentRoot::open(www_);
  for (const char* attempt : {
           "/../outside/secret.txt",
           "/..",
           "/../",
           "/sub/../../outside/secret.txt",
           "/%2e%2e/outside/secret.txt",  // encoded ".."
           "/%2E%2E/outside/secret.txt",
           "/.%2e/outside/secret.txt",
           "/%2e./outside/secret.txt",
           "/sub/%2e%2e/%2e%2e/outside/secret.txt",
           "/..%2foutside%2fsecret.txt",  // an encoded '/' separates as well
           "/%2e%2e%2foutside%2fsecret.txt",
           "/sub%2f..%2f..%2foutside/secret.txt",
           "//../outside/secret.txt",
           "/./../outside/secret.txt",
       }) {
    auto t = root.resolve(attempt);
    ASSERT_FALSE(t) << attempt << " resolved to " << t->file;
    EXPECT_EQ(t.error(), Status::BadRequest) << attempt;
  }
}

TEST_F(HttpDocumentRoot, NulBytesAreRefused) {
  const auto root = *DocumentRoot::open(www_);
  EXPECT_EQ(root.resolve("/hello.txt%00.html").error(), Status::BadRequest);
  EXPECT_EQ(root.resolve("/%00").error(), Status::BadRequest);
  EXPECT_EQ(root.resolve("/bad%zz").error(), Status::BadRequest);
}

TEST_F(HttpDocumentRoot, SymlinksOutOfTheRootAreNotFollowedOut) {
  const auto root = *DocumentRoot::open(www_);
  for (const char* attempt : {"/link_out", "/link_abs", "/dir_out/secret.txt", "/dir_out/",
                              "/sibling", "/trap/", "/%6cink_out"}) {
    auto t = root.resolve(attempt);
    ASSERT_FALSE(t) << attempt << " resolved to " << t->file;
    EXPECT_EQ(t.error(), Status::NotFound) << attempt;
  }
  // The directory symlink itself, without a slash, is not redirected either.
  EXPECT_EQ(root.resolve("/dir_out").error(), Status::NotFound);
}

TEST_F(HttpDocumentRoot, UnreadableIs403) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  std::filesystem::create_directories(www_ / "locked" / "inner");
  write(www_ / "locked" / "inner" / "f.txt", "x");
  std::filesystem::permissions(www_ / "locked", std::filesystem::perms::none);
  const auto root = *DocumentRoot::open(www_);
  EXPECT_EQ(root.resolve("/locked/inner/f.txt").error(), Status::Forbidden);
  std::filesystem::permissions(www_ / "locked", std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace tapir::apps::http
