#include "core/util/files.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "core/util/sys_error.h"
#include "tests/support.h"

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

TEST_CASE("copying an artifact tree keeps files and directories only, with tame modes", "[unit]") {
    const std::string base = test::make_temp_dir("execd-files");
    const std::string src = base + "/src", dst = base + "/dst";
    REQUIRE(mkdir(src.c_str(), 0777) == 0);
    REQUIRE(mkdir(dst.c_str(), 0755) == 0);
    Fd src_fd(open(src.c_str(), O_RDONLY | O_DIRECTORY));
    create_file_at(src_fd.get(), "main", "binary", 06755);  // set-id bits must not survive
    create_file_at(src_fd.get(), "data", "text", 0666);
    REQUIRE(mkdir((src + "/pkg").c_str(), 0777) == 0);
    REQUIRE(close(open((src + "/pkg/A.class").c_str(), O_CREAT | O_WRONLY, 0600)) == 0);
    REQUIRE(symlink("/etc/shadow", (src + "/shadow").c_str()) == 0);
    REQUIRE(mkfifo((src + "/fifo").c_str(), 0666) == 0);  // would block a reader forever

    Fd dst_fd(open(dst.c_str(), O_RDONLY | O_DIRECTORY));
    CHECK(copy_tree_at(src_fd.get(), dst_fd.get(), 1 << 20) == 10);
    struct stat st {};
    REQUIRE(lstat((dst + "/main").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    REQUIRE(lstat((dst + "/data").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    REQUIRE(lstat((dst + "/pkg").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(access((dst + "/pkg/A.class").c_str(), F_OK) == 0);
    CHECK(lstat((dst + "/shadow").c_str(), &st) != 0);
    CHECK(lstat((dst + "/fifo").c_str(), &st) != 0);
    // Four entries (main, data, pkg, pkg/A.class) and the blocks the files hold.
    int64_t blocks = 0;
    for (const char* f : {"/main", "/data", "/pkg/A.class"}) {
        REQUIRE(lstat((dst + f).c_str(), &st) == 0);
        blocks += st.st_blocks * 512;
    }
    CHECK(blocks >= 10);
    CHECK(tree_bytes_at(dst_fd.get()) == blocks + 4 * 1024);

    SECTION("limits: bytes, entries, depth") {
        Fd again(open(base.c_str(), O_RDONLY | O_DIRECTORY));
        REQUIRE(mkdir((base + "/d2").c_str(), 0755) == 0);
        Fd d2(open((base + "/d2").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_AS(copy_tree_at(src_fd.get(), d2.get(), 5), std::length_error);

        REQUIRE(mkdir((base + "/many").c_str(), 0755) == 0);
        Fd many(open((base + "/many").c_str(), O_RDONLY | O_DIRECTORY));
        for (int i = 0; i < 20001; ++i) create_file_at(many.get(), "f" + std::to_string(i), "", 0644);
        REQUIRE(mkdir((base + "/d3").c_str(), 0755) == 0);
        Fd d3(open((base + "/d3").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_AS(copy_tree_at(many.get(), d3.get(), 1 << 20), std::length_error);

        std::string deep = base + "/deep";
        REQUIRE(mkdir(deep.c_str(), 0755) == 0);
        Fd deep_fd(open(deep.c_str(), O_RDONLY | O_DIRECTORY));
        std::string path = deep;
        for (int i = 0; i < 18; ++i) REQUIRE(mkdir((path += "/d").c_str(), 0755) == 0);
        REQUIRE(mkdir((base + "/d4").c_str(), 0755) == 0);
        Fd d4(open((base + "/d4").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_AS(copy_tree_at(deep_fd.get(), d4.get(), 1 << 20), std::length_error);
    }
    Fd base_fd(open(base.c_str(), O_RDONLY | O_DIRECTORY));
    for (const char* n : {"src", "dst", "d2", "many", "d3", "deep", "d4"}) remove_tree_at(base_fd.get(), n);
    rmdir(base.c_str());
}

TEST_CASE("removing a very deep tree holds few descriptors and leaves nothing", "[unit]") {
    const std::string base = test::make_temp_dir("execd-files");
    Fd base_fd(open(base.c_str(), O_RDONLY | O_DIRECTORY));
    REQUIRE(mkdir((base + "/deep").c_str(), 0755) == 0);
    // 3000 levels, as a box can build in /box or /tmp within its limits.
    Fd cur(open((base + "/deep").c_str(), O_RDONLY | O_DIRECTORY));
    for (int i = 0; i < 3000; ++i) {
        REQUIRE(mkdirat(cur.get(), "d", i % 100 == 0 ? 0 : 0755) == 0);  // some without permissions
        Fd next(openat(cur.get(), "d", O_RDONLY | O_DIRECTORY));
        if (!next) {
            REQUIRE(fchmodat(cur.get(), "d", 0755, 0) == 0);
            next = Fd(openat(cur.get(), "d", O_RDONLY | O_DIRECTORY));
        }
        REQUIRE(next);
        if (i % 100 == 0) REQUIRE(fchmod(next.get(), 0) == 0);
        if (i == 2999) create_file_at(next.get(), "leaf", "x", 0644);
        cur = std::move(next);
    }
    cur.reset();
    // Far fewer descriptors than levels: removal must not need one per level.
    struct rlimit old {};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    struct rlimit tight = old;
    tight.rlim_cur = 128;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &tight) == 0);
    const int err = remove_tree_at(base_fd.get(), "deep");
    REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
    CHECK(err == 0);
    CHECK(access((base + "/deep").c_str(), F_OK) != 0);
    // Subtrees moved up on the way are gone too.
    CHECK(rmdir(base.c_str()) == 0);
}
