#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "support.h"
#include "util/files.h"
#include "util/sys_error.h"

using namespace execd;

TEST_CASE("file names from requests are single safe components", "[unit]") {
    CHECK(is_safe_file_name("main.py"));
    CHECK(is_safe_file_name("..hidden"));
    CHECK_FALSE(is_safe_file_name(""));
    CHECK_FALSE(is_safe_file_name("."));
    CHECK_FALSE(is_safe_file_name(".."));
    CHECK_FALSE(is_safe_file_name("a/b"));
    CHECK_FALSE(is_safe_file_name(std::string("a\0b", 3)));
    CHECK_FALSE(is_safe_file_name(std::string(256, 'a')));
}

TEST_CASE("host-side removal never follows a planted symlink", "[unit]") {
    const std::string base = test::make_temp_dir("execd-files");
    // Outside the tree: a file and a directory with a file, which must survive.
    const std::string outside = base + "/outside";
    REQUIRE(mkdir(outside.c_str(), 0755) == 0);
    REQUIRE(close(open((outside + "/keep").c_str(), O_CREAT | O_WRONLY, 0644)) == 0);
    const std::string work = base + "/work";
    REQUIRE(mkdir(work.c_str(), 0755) == 0);
    REQUIRE(mkdir((work + "/sub").c_str(), 0) == 0);  // no permissions, as a box might leave it
    REQUIRE(symlink(outside.c_str(), (work + "/link-to-dir").c_str()) == 0);
    REQUIRE(symlink((outside + "/keep").c_str(), (work + "/link-to-file").c_str()) == 0);

    Fd base_fd(open(base.c_str(), O_RDONLY | O_DIRECTORY));
    CHECK(remove_tree_at(base_fd.get(), "work") == 0);
    CHECK(access(work.c_str(), F_OK) != 0);
    CHECK(access((outside + "/keep").c_str(), F_OK) == 0);

    // Creating a file through a symlink is refused.
    REQUIRE(symlink((outside + "/keep").c_str(), (base + "/trap").c_str()) == 0);
    CHECK_THROWS_AS(create_file_at(base_fd.get(), "trap", "x", 0644), SystemFailure);
    CHECK(remove_tree_at(base_fd.get(), "trap") == 0);
    CHECK(access((outside + "/keep").c_str(), F_OK) == 0);
    CHECK(remove_tree_at(base_fd.get(), "outside") == 0);
    rmdir(base.c_str());
}
