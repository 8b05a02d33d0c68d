// Client against the Python CRDS test server: sync then offline, server down, garbage, bad
// downloads, and several processes filling one cache at once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "stpipe/crds/client.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "test_support.h"

namespace fs = std::filesystem;
using stpipe::ReferenceFileError;
using stpipe::crds::BestRef;
using stpipe::crds::Client;
using stpipe::crds::ClientOptions;
using stpipe::crds::Header;
using stpipe::testing::TempDir;

namespace {

const Header kNircam = {
    {"META.INSTRUMENT.NAME", "NIRCAM"},      {"META.INSTRUMENT.DETECTOR", "NRCA1"},
    {"META.OBSERVATION.DATE", "2016-01-01"}, {"META.OBSERVATION.TIME", "00:00:00"},
    {"META.EXPOSURE.TYPE", "NRC_IMAGE"},     {"META.EXPOSURE.READPATT", "RAPID"},
    {"META.SUBARRAY.NAME", "FULL"}};

const std::vector<std::string> kRefs = {"jwst_nircam_dark_0040.fits", "jwst_nircam_mask_0033.fits",
                                        "jwst_nircam_gain_0050.fits"};

std::string fake_content(const std::string& name) {
  std::string s;
  for (int k = 0; k < 200; ++k) s += "fake reference " + name + " line " + std::to_string(k) + "\n";
  return s;
}

// A server root: the shared cache's mappings and config, plus a few fake reference files.
struct ServerRoot {
  TempDir dir;
  ServerRoot() {
    auto cache = stpipe::testing::shared_data("crds/cache");
    fs::create_directories(dir / "mappings");
    fs::create_directories(dir / "config");
    fs::create_directory_symlink(cache / "mappings/jwst", dir / "mappings/jwst");
    fs::create_directory_symlink(cache / "config/jwst", dir / "config/jwst");
    fs::create_directories(dir / "references/jwst/nircam");
    for (const auto& r : kRefs)
      std::ofstream(dir / ("references/jwst/nircam/" + r), std::ios::binary) << fake_content(r);
  }
};

// The Python test server as a child process; stopped on destruction.
class ServerProcess {
 public:
  explicit ServerProcess(const fs::path& root, std::vector<std::string> extra = {}) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::string script =
        (stpipe::testing::source_dir() / "tests/python/crds_test_server.py").string();
    std::vector<std::string> argv = {"/usr/bin/python3", script, root.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    port_ = line.empty() ? 0 : std::stoi(line);
  }
  ~ServerProcess() { stop(); }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

ClientOptions options(const fs::path& cache, const std::string& url) {
  ClientOptions o;
  o.crds_path = cache;
  o.server_url = url;
  o.server.timeout_seconds = 20;
  o.server.connect_timeout_seconds = 5;
  return o;
}

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

bool has_temporary_files(const fs::path& dir) {
  if (!fs::exists(dir)) return false;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ReferenceFileError& e) {
    return e.what();
  }
  return "(no ReferenceFileError)";
}

TEST(CrdsServer, SyncFetchThenOffline) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  ServerProcess server(root.dir.path());
  ASSERT_GT(server.port(), 0);
  TempDir cache;
  {
    Client client(options(cache.path(), server.url()));
    EXPECT_EQ(client.context_used(), "jwst_0541.pmap");
    EXPECT_EQ(client.sync_context(), 124);
    EXPECT_EQ(count_files(cache / "mappings/jwst"), 124u);
    EXPECT_TRUE(fs::exists(cache / "config/jwst/server_config"));
    auto refs = client.best_references(kNircam, {"dark", "mask", "barshadow"});
    EXPECT_EQ(refs.at("dark").filename(), "jwst_nircam_dark_0040.fits");
    EXPECT_EQ(refs.at("barshadow").kind, BestRef::Kind::kNotApplicable);
    auto paths = client.get_multiple_reference_paths(kNircam, {"dark", "mask", "barshadow"});
    EXPECT_EQ(paths.at("dark"),
              (cache / "references/jwst/nircam/jwst_nircam_dark_0040.fits").string());
    EXPECT_EQ(paths.at("barshadow"), "N/A");
    EXPECT_EQ(stpipe::read_text_file(paths.at("mask")), fake_content("jwst_nircam_mask_0033.fits"));
  }
  server.stop();
  ClientOptions off = options(cache.path(), "");
  Client offline(off);
  EXPECT_TRUE(offline.offline());
  EXPECT_EQ(offline.context_used(), "jwst_0541.pmap");  // from the saved server_config
  auto refs = offline.best_references(kNircam, {"dark", "gain"});
  EXPECT_EQ(refs.at("gain").filename(), "jwst_nircam_gain_0050.fits");
  EXPECT_EQ(offline.get_reference_path("jwst_nircam_dark_0040.fits"),
            cache / "references/jwst/nircam/jwst_nircam_dark_0040.fits");
  std::string msg = error_of([&] { offline.get_reference_path("jwst_nircam_gain_0050.fits"); });
  EXPECT_NE(msg.find("jwst_nircam_gain_0050.fits"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offline"), std::string::npos) << msg;
  EXPECT_FALSE(has_temporary_files(cache.path()));
}

TEST(CrdsServer, LazyMappingFetchOnFirstLookup) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  ServerProcess server(root.dir.path());
  TempDir cache;
  Client client(options(cache.path(), server.url()));
  auto refs = client.best_references(kNircam, {"gain"});
  EXPECT_EQ(refs.at("gain").filename(), "jwst_nircam_gain_0050.fits");
  EXPECT_EQ(count_files(cache / "mappings/jwst"), 124u);
}

TEST(CrdsServer, OfflineWithoutCacheNamesWhatIsMissing) {
  TempDir cache;
  Client client(options(cache.path(), ""));
  std::string msg = error_of([&] { client.context_used(); });
  EXPECT_NE(msg.find("offline"), std::string::npos) << msg;
  ClientOptions o = options(cache.path(), "");
  o.context = "jwst_0541.pmap";
  Client with_context(o);
  msg = error_of([&] { with_context.best_references(kNircam, {"dark"}); });
  EXPECT_NE(msg.find("jwst_0541.pmap"), std::string::npos) << msg;
  EXPECT_NE(msg.find((cache / "mappings/jwst").string()), std::string::npos) << msg;
}

TEST(CrdsServer, ServerDownIsAClearErrorOrFallsBackToCache) {
  STPIPE_REQUIRE_SHARED_DATA();
  int port;
  {
    ServerRoot root;
    ServerProcess s(root.dir.path());
    port = s.port();
  }  // stopped: nothing listens on `port` now
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  TempDir empty;
  ClientOptions o = options(empty.path(), url);
  o.server.retry_count = 2;
  Client client(o);
  std::string msg = error_of([&] { client.context_used(); });
  EXPECT_NE(msg.find("unreachable"), std::string::npos) << msg;
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
  msg = error_of([&] { client.get_reference_path("jwst_nircam_dark_0040.fits"); });
  EXPECT_NE(msg.find("unreachable"), std::string::npos) << msg;
  EXPECT_FALSE(has_temporary_files(empty.path()));

  // A populated cache answers without the server.
  Client cached(options(stpipe::testing::shared_data("crds/cache"), url));
  EXPECT_EQ(cached.context_used(), "jwst_0541.pmap");
  EXPECT_EQ(cached.best_references(kNircam, {"dark"}).at("dark").filename(),
            "jwst_nircam_dark_0040.fits");
}

TEST(CrdsServer, GarbageAnswersAreRejected) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  ServerProcess server(root.dir.path(), {"--mode", "garbage"});
  TempDir cache;
  Client client(options(cache.path(), server.url()));
  std::string msg = error_of([&] { client.context_used(); });
  EXPECT_NE(msg.find("not JSON"), std::string::npos) << msg;
  msg = error_of([&] { client.sync_context("jwst_0541.pmap"); });
  EXPECT_NE(msg.find("not JSON"), std::string::npos) << msg;
  EXPECT_EQ(count_files(cache / "mappings"), 0u);

  ServerProcess failing(root.dir.path(), {"--mode", "rpc-error"});
  Client client2(options(cache.path(), failing.url()));
  msg = error_of([&] { client2.get_reference_path("jwst_nircam_dark_0040.fits"); });
  EXPECT_NE(msg.find("configured to fail"), std::string::npos) << msg;
}

TEST(CrdsServer, CorruptOrTruncatedDownloadsNeverEnterTheCache) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  TempDir cache;
  {
    ServerProcess server(root.dir.path(), {"--mode", "corrupt", "--context", "jwst_0541.pmap"});
    Client client(options(cache.path(), server.url()));
    std::string msg = error_of([&] { client.get_reference_path("jwst_nircam_dark_0040.fits"); });
    EXPECT_NE(msg.find("SHA-1"), std::string::npos) << msg;
  }
  {
    ServerProcess server(root.dir.path(), {"--mode", "truncated", "--context", "jwst_0541.pmap"});
    Client client(options(cache.path(), server.url()));
    std::string msg = error_of([&] { client.get_reference_path("jwst_nircam_dark_0040.fits"); });
    EXPECT_NE(msg.find("bytes, expected"), std::string::npos) << msg;
    msg = error_of([&] { client.get_reference_path("jwst_nircam_nosuch_0001.fits"); });
    EXPECT_NE(msg.find("not known"), std::string::npos) << msg;
  }
  EXPECT_EQ(count_files(cache / "references"), 0u);
  EXPECT_FALSE(has_temporary_files(cache.path()));
}

TEST(CrdsServer, ConcurrentProcessesShareOneCache) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  TempDir logdir;
  fs::path log = logdir / "requests.log";
  ServerProcess server(root.dir.path(), {"--delay", "0.2", "--log", log.string()});
  TempDir cache;
  const int kChildren = 4;
  std::vector<pid_t> pids;
  for (int k = 0; k < kChildren; ++k) {
    pid_t pid = fork();
    if (pid == 0) {
      int rc = 0;
      try {
        Client client(options(cache.path(), server.url()));
        auto paths = client.get_multiple_reference_paths(kNircam, {"dark", "mask"});
        if (stpipe::read_text_file(paths.at("dark")) != fake_content("jwst_nircam_dark_0040.fits"))
          rc = 2;
      } catch (...) {
        rc = 1;
      }
      _exit(rc);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  EXPECT_EQ(count_files(cache / "mappings/jwst"), 124u);
  EXPECT_EQ(stpipe::read_text_file(cache / "references/jwst/nircam/jwst_nircam_mask_0033.fits"),
            fake_content("jwst_nircam_mask_0033.fits"));
  EXPECT_FALSE(has_temporary_files(cache.path()));
  // Each file was downloaded exactly once although four processes wanted it.
  std::ifstream in(log);
  std::string line;
  int dark_gets = 0, pmap_gets = 0;
  while (std::getline(in, line)) {
    dark_gets += line == "GET jwst_nircam_dark_0040.fits";
    pmap_gets += line == "GET jwst_0541.pmap";
  }
  EXPECT_EQ(dark_gets, 1);
  EXPECT_EQ(pmap_gets, 1);
}

}  // namespace

namespace {

TEST(CrdsClient, BadReferencesAndRulesAreErrorsUnlessAllowed) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir cache;
  fs::create_directories(cache / "mappings");
  fs::create_directory_symlink(stpipe::testing::shared_data("crds/cache/mappings/jwst"),
                               cache / "mappings/jwst");
  fs::create_directories(cache / "config/jwst");
  std::ofstream(cache / "config/jwst/server_config")
      << "{'operational_context': 'jwst_0541.pmap',\n 'bad_files_list': "
         "['jwst_nircam_dark_0040.fits', 'jwst_nircam_gain_0009.rmap']}\n";
  ClientOptions o = options(cache.path(), "");
  {
    Client client(o);
    auto refs = client.best_references(kNircam, {"dark", "gain", "mask"});
    EXPECT_EQ(refs.at("dark").crds_string(),
              "NOT FOUND Recommended reference 'jwst_nircam_dark_0040.fits' of type 'dark' is "
              "designated scientifically invalid.");
    EXPECT_EQ(refs.at("gain").kind, BestRef::Kind::kError);
    EXPECT_NE(refs.at("gain").message.find("jwst_nircam_gain_0009.rmap"), std::string::npos);
    EXPECT_EQ(refs.at("mask").filename(), "jwst_nircam_mask_0033.fits");
  }
  o.allow_bad_references = true;
  o.allow_bad_rules = true;
  Client lenient(o);
  auto refs = lenient.best_references(kNircam, {"dark", "gain"});
  EXPECT_EQ(refs.at("dark").filename(), "jwst_nircam_dark_0040.fits");
  EXPECT_EQ(refs.at("gain").filename(), "jwst_nircam_gain_0050.fits");
}

}  // namespace

namespace {

TEST(CrdsServer, EncodedResultsRetriesAndTimeouts) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  {
    ServerProcess encoded(root.dir.path(), {"--mode", "encoded"});
    TempDir cache;
    Client client(options(cache.path(), encoded.url()));
    EXPECT_EQ(client.context_used(), "jwst_0541.pmap");
    EXPECT_EQ(client.get_reference_path("jwst_nircam_gain_0050.fits"),
              cache / "references/jwst/nircam/jwst_nircam_gain_0050.fits");
  }
  {
    ServerProcess flaky(root.dir.path(), {"--mode", "flaky", "--context", "jwst_0541.pmap"});
    TempDir cache;
    ClientOptions once = options(cache.path(), flaky.url());
    once.server.retry_count = 1;
    std::string msg = error_of([&] { Client(once).context_used(); });
    EXPECT_NE(msg.find("HTTP status 503"), std::string::npos) << msg;
    ClientOptions twice = once;
    twice.server.retry_count = 2;
    Client client(twice);
    EXPECT_EQ(client.context_used(), "jwst_0541.pmap");
    EXPECT_TRUE(fs::exists(client.get_reference_path("jwst_nircam_dark_0040.fits")));
  }
  {
    ServerProcess slow(root.dir.path(), {"--delay", "3", "--context", "jwst_0541.pmap"});
    TempDir cache;
    ClientOptions o = options(cache.path(), slow.url());
    o.server.timeout_seconds = 0.5;
    Client client(o);
    std::string msg = error_of([&] { client.get_reference_path("jwst_nircam_dark_0040.fits"); });
    EXPECT_NE(msg.find("Timeout"), std::string::npos) << msg;
    EXPECT_EQ(count_files(cache / "references"), 0u);
    EXPECT_FALSE(has_temporary_files(cache.path()));
  }
}

}  // namespace

namespace {

TEST(CrdsClient, OptionsFromEnvironment) {
  setenv("CRDS_PATH", "/some/cache", 1);
  setenv("CRDS_SERVER_URL", "http://127.0.0.1:1", 1);
  setenv("CRDS_CONTEXT", "jwst_0541.pmap", 1);
  setenv("CRDS_OBSERVATORY", "JWST", 1);
  setenv("CRDS_IGNORE_MAPPING_CHECKSUM", "1", 1);
  setenv("CRDS_CLIENT_RETRY_COUNT", "3", 1);
  setenv("CRDS_CLIENT_TIMEOUT_SECONDS", "7.5", 1);
  ClientOptions o = ClientOptions::from_environment();
  EXPECT_EQ(o.crds_path, fs::path("/some/cache"));
  EXPECT_EQ(o.server_url, "http://127.0.0.1:1");
  EXPECT_EQ(o.context, "jwst_0541.pmap");
  EXPECT_EQ(o.observatory, "jwst");
  EXPECT_FALSE(o.check_mapping_checksums);
  EXPECT_EQ(o.server.retry_count, 3);
  EXPECT_DOUBLE_EQ(o.server.timeout_seconds, 7.5);
  for (const char* v :
       {"CRDS_PATH", "CRDS_SERVER_URL", "CRDS_CONTEXT", "CRDS_OBSERVATORY",
        "CRDS_IGNORE_MAPPING_CHECKSUM", "CRDS_CLIENT_RETRY_COUNT", "CRDS_CLIENT_TIMEOUT_SECONDS"})
    unsetenv(v);
  ClientOptions d = ClientOptions::from_environment();
  EXPECT_TRUE(d.server_url.empty());
  EXPECT_TRUE(Client(d).offline());
  EXPECT_TRUE(d.check_mapping_checksums);
  EXPECT_EQ(d.crds_path.filename(), "crds_cache");
  // An explicit context wins over everything, without asking any server.
  o.context = "jwst_nircam_0120.imap";
  EXPECT_EQ(Client(o).context_used(), "jwst_nircam_0120.imap");
}

TEST(CrdsServer, FlatReferenceLayout) {
  STPIPE_REQUIRE_SHARED_DATA();
  ServerRoot root;
  ServerProcess server(root.dir.path(), {"--context", "jwst_0541.pmap"});
  TempDir cache;
  fs::create_directories(cache / "config/jwst");
  std::ofstream(cache / "config/jwst/ref_cache_subdir_mode") << "flat\n";
  Client client(options(cache.path(), server.url()));
  EXPECT_EQ(client.cache().ref_subdir_mode(), "flat");
  EXPECT_EQ(client.get_reference_path("jwst_nircam_dark_0040.fits"),
            cache / "references/jwst/jwst_nircam_dark_0040.fits");
  EXPECT_EQ(stpipe::crds::instrument_of_reference("jwst_nircam_dark_0040.fits"), "nircam");
}

}  // namespace
