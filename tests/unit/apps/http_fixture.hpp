// A document root on disk for the path and file-server tests, made in a fresh temporary
// directory and removed afterwards:
//
//   <tmp>/www/index.html            "<h1>home</h1>"
//   <tmp>/www/hello.txt             "hello\n"
//   <tmp>/www/with space.txt        "spaced"
//   <tmp>/www/pic.PNG, data.bin, noext
//   <tmp>/www/sub/index.html        "sub"
//   <tmp>/www/sub/page.htm
//   <tmp>/www/empty/                (no index.html)
//   <tmp>/www/trap/index.html  ->  ../../outside/secret.txt
//   <tmp>/www/link_in          ->  hello.txt
//   <tmp>/www/link_out         ->  ../outside/secret.txt
//   <tmp>/www/link_abs         ->  <tmp>/outside/secret.txt
//   <tmp>/www/dir_out          ->  ../outside
//   <tmp>/www/sibling          ->  ../www2/secret.txt   (a prefix of the root, not inside it)
//   <tmp>/www/loop             ->  loop
//   <tmp>/www/fifo                  a FIFO
//   <tmp>/outside/secret.txt, <tmp>/www2/secret.txt
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <system_error>

#include <gtest/gtest.h>

namespace tapir::apps::http {

class DocumentRootFixture : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tapir-http-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    www_ = base_ / "www";
    namespace fs = std::filesystem;
    fs::create_directories(www_ / "sub");
    fs::create_directories(www_ / "empty");
    fs::create_directories(www_ / "trap");
    fs::create_directories(base_ / "outside");
    fs::create_directories(base_ / "www2");
    write(www_ / "index.html", "<h1>home</h1>");
    write(www_ / "hello.txt", "hello\n");
    write(www_ / "with space.txt", "spaced");
    write(www_ / "pic.PNG", "png");
    write(www_ / "data.bin", "bin");
    write(www_ / "noext", "noext");
    write(www_ / "sub" / "index.html", "sub");
    write(www_ / "sub" / "page.htm", "page");
    write(base_ / "outside" / "secret.txt", "secret");
    write(base_ / "www2" / "secret.txt", "secret2");
    fs::create_symlink("../../outside/secret.txt", www_ / "trap" / "index.html");
    fs::create_symlink("hello.txt", www_ / "link_in");
    fs::create_symlink("../outside/secret.txt", www_ / "link_out");
    fs::create_symlink(base_ / "outside" / "secret.txt", www_ / "link_abs");
    fs::create_directory_symlink("../outside", www_ / "dir_out");
    fs::create_symlink("../www2/secret.txt", www_ / "sibling");
    fs::create_symlink("loop", www_ / "loop");
    ASSERT_EQ(::mkfifo((www_ / "fifo").c_str(), 0644), 0);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(base_, ignored);
  }

  static void write(const std::filesystem::path& p, std::string_view text) {
    std::ofstream(p, std::ios::binary) << text;
  }

  std::filesystem::path base_;
  std::filesystem::path www_;
};

}  // namespace tapir::apps::http
