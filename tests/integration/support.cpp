#include "integration/support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char **environ;

namespace lgtest {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "livegate-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(std::vector<std::string> argv, const std::string &log_path) : log_path_(log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const char *out = log_path.empty() ? "/dev/null" : log_path.c_str();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char *> args;
  for (auto &a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // A process group of its own, so a kill reaches whatever it forks.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Process::~Process() {
  if (!status_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait(10s);
  }
}

int time_scale() {
  static const int scale = [] {
    const char *env = std::getenv("LG_TEST_TIME_SCALE");
    const int n = env ? std::atoi(env) : 0;
#if defined(LG_TSAN_BUILD)
    return n > 0 ? n : 4;
#else
    return n > 0 ? n : 1;
#endif
  }();
  return scale;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::string Process::output() const {
  if (log_path_.empty()) return {};
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run(std::vector<std::string> argv, std::chrono::milliseconds timeout, std::string *output) {
  TempDir dir;
  Process p(std::move(argv), dir.file("out.log"));
  auto rc = p.wait(timeout);
  if (output) *output = p.output();
  return rc ? *rc : -1;
}

bool have_program(const std::string &name) {
  return run({"sh", "-c", "command -v " + name}, 10s) == 0;
}

bool have_gst_element(const std::string &name) {
  return run({"gst-inspect-1.0", "--exists", name}, 20s) == 0;
}

int count_frames(const std::string &path, const std::string &stream) {
  std::string out;
  run({"ffprobe", "-v", "error", "-count_frames", "-select_streams", stream, "-show_entries",
       "stream=nb_read_frames", "-of", "csv=p=0", path},
      60s, &out);
  return std::atoi(out.c_str());
}

Source make_source(const std::string &path, int seconds, const std::string &video_codec) {
  Source s;
  s.path = path;
  std::string out;
  int rc = run({"ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=30",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                std::to_string(seconds),
                "-c:v",
                video_codec,
                "-preset",
                "ultrafast",
                "-g",
                "30",
                "-keyint_min",
                "30",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-shortest",
                s.path},
               120s, &out);
  if (rc != 0) throw std::runtime_error("cannot make test media: " + out);
  s.video_frames = count_frames(s.path, "v:0");
  s.audio_frames = count_frames(s.path, "a:0");
  return s;
}

const Source &test_source(int seconds) {
  static std::mutex mutex;
  static std::map<int, Source> cache;
  static TempDir dir;  // lives until the test process ends
  std::lock_guard lock(mutex);
  auto it = cache.find(seconds);
  if (it != cache.end()) return it->second;
  Source s = make_source(dir.file("src" + std::to_string(seconds) + ".flv"), seconds, "libx264");
  return cache.emplace(seconds, std::move(s)).first->second;
}

TestServer::TestServer(std::function<void(lg_server_options &)> tweak,
                       std::function<void(lg_server_callbacks &)> tweak_callbacks) {
  lg_server_options opts;
  lg_server_options_init(&opts);
  std::string data = dir_.file("data");
  opts.data_dir = data.c_str();
  opts.rtmp_address = "127.0.0.1";
  opts.rtmp_port = 0;
  opts.log = &TestServer::cb_log;
  opts.log_user = this;
  opts.log_level = LG_LOG_DEBUG;
  // Outputs end with their publish unless a test waits for a reconnect.
  opts.reconnect_window_ms = 1;
  if (tweak) tweak(opts);
  lg_server_callbacks cb{};
  cb.struct_size = sizeof(cb);
  cb.user = this;
  cb.on_publish_start = &TestServer::cb_start;
  cb.on_publish_reject = &TestServer::cb_reject;
  cb.on_publish_stop = &TestServer::cb_stop;
  cb.on_frame = &TestServer::cb_frame;
  cb.on_authorize = &TestServer::cb_authorize;
  cb.on_output = &TestServer::cb_output;
  cb.on_failover = &TestServer::cb_failover;
  cb.on_output_frame = &TestServer::cb_output_frame;
  if (tweak_callbacks) tweak_callbacks(cb);
  if (lg_server_create(&server_, &opts, &cb) != LG_OK) {
    throw std::runtime_error("lg_server_create failed");
  }
  if (lg_server_start(server_) != LG_OK) throw std::runtime_error("lg_server_start failed");
  if (lg_server_get_port(server_, LG_PROTOCOL_RTMP, &port_) != LG_OK) {
    throw std::runtime_error("no RTMP port");
  }
}

TestServer::~TestServer() {
  lg_server_destroy(server_);
}

lg_entry TestServer::create_entry(const char *name) {
  lg_entry e{};
  e.struct_size = sizeof(e);
  if (lg_store_create_entry(lg_server_get_store(server_), &e, name) != LG_OK) {
    throw std::runtime_error("cannot create an entry");
  }
  return e;
}

namespace {

std::string take(char *s) {
  std::string out = s ? s : "";
  lg_free(s);
  return out;
}

}  // namespace

std::string TestServer::ffmpeg_url(const lg_entry &e, lg_role role, const char *stream,
                                   const char *token) {
  lg_url_options o;
  lg_url_options_init(&o);
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port_);
  char *ff = nullptr;
  if (lg_url_build(nullptr, nullptr, &ff, &o, e.id, role, token ? token : e.token, stream) !=
      LG_OK) {
    throw std::runtime_error("lg_url_build failed");
  }
  return take(ff);
}

int TestServer::port_of(lg_protocol protocol) {
  int port = -1;
  if (lg_server_get_port(server_, protocol, &port) != LG_OK) {
    throw std::runtime_error(std::string("no listener for ") + lg_protocol_name(protocol));
  }
  return port;
}

std::string TestServer::url_for(lg_scheme scheme, const lg_entry &e, lg_role role,
                                const char *stream, const char *token) {
  const lg_protocol protocol = scheme == LG_SCHEME_SRT     ? LG_PROTOCOL_SRT
                               : scheme == LG_SCHEME_RTMPS ? LG_PROTOCOL_RTMPS
                                                           : LG_PROTOCOL_RTMP;
  lg_url_options o;
  lg_url_options_init(&o);
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port_of(protocol));
  o.scheme = scheme;
  char *ff = nullptr;
  if (lg_url_build(nullptr, nullptr, &ff, &o, e.id, role, token ? token : e.token, stream) !=
      LG_OK) {
    throw std::runtime_error("lg_url_build failed");
  }
  return take(ff);
}

std::string TestServer::srt_stream_id(const lg_entry &e, lg_role role, const char *stream,
                                      const char *token) {
  lg_url_options o;
  lg_url_options_init(&o);
  o.host = "127.0.0.1";
  o.scheme = LG_SCHEME_SRT;
  char *sid = nullptr;
  if (lg_url_build(nullptr, &sid, nullptr, &o, e.id, role, token ? token : e.token, stream) !=
      LG_OK) {
    throw std::runtime_error("lg_url_build failed");
  }
  return take(sid);
}

std::pair<std::string, std::string> TestServer::obs_url(const lg_entry &e, lg_role role,
                                                        const char *stream) {
  lg_url_options o;
  lg_url_options_init(&o);
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port_);
  char *url = nullptr, *name = nullptr;
  if (lg_url_build(&url, &name, nullptr, &o, e.id, role, e.token, stream) != LG_OK) {
    throw std::runtime_error("lg_url_build failed");
  }
  return {take(url), take(name)};
}

bool TestServer::wait_for(const std::function<bool(const Events &)> &pred,
                          std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, scaled(timeout), [&] { return pred(events_); });
}

Events TestServer::snapshot() {
  std::lock_guard lock(mutex_);
  return events_;
}

std::string TestServer::log_text() {
  std::lock_guard lock(mutex_);
  return log_;
}

void TestServer::cb_start(void *user, const lg_publish_info *info) {
  auto *self = static_cast<TestServer *>(user);
  std::function<void(const lg_publish_info *)> hook;
  {
    std::lock_guard lock(self->mutex_);
    Events::Start s;
    s.session_id = info->session_id;
    s.entry_id = info->entry_id;
    s.stream_name = info->stream_name;
    s.remote = info->remote_address;
    s.encoder = info->encoder;
    s.metadata = info->metadata_json;
    s.role = info->role;
    s.vcodec = info->video->codec;
    s.acodec = info->audio->codec;
    s.video_codec = info->video->codec_string;
    s.audio_codec = info->audio->codec_string;
    s.width = info->video->width;
    s.height = info->video->height;
    s.sample_rate = info->audio->sample_rate;
    s.channels = info->audio->channels;
    self->events_.starts.push_back(s);
    hook = self->on_start_hook_;
  }
  self->cv_.notify_all();
  if (hook) hook(info);
}

void TestServer::cb_reject(void *user, const lg_reject_info *info) {
  auto *self = static_cast<TestServer *>(user);
  {
    std::lock_guard lock(self->mutex_);
    self->events_.rejects.push_back(
        {info->status, info->reason, info->entry_id, info->stream_name});
  }
  self->cv_.notify_all();
}

void TestServer::cb_stop(void *user, const lg_publish_info *info, const lg_session_stats *stats,
                         lg_status status, const char *reason) {
  auto *self = static_cast<TestServer *>(user);
  {
    std::lock_guard lock(self->mutex_);
    self->events_.stops.push_back(
        {info->session_id, info->entry_id, info->stream_name, reason, status, *stats});
  }
  self->cv_.notify_all();
}

void TestServer::cb_frame(void *user, const lg_publish_info *info, const lg_frame *frame) {
  auto *self = static_cast<TestServer *>(user);
  {
    std::lock_guard lock(self->mutex_);
    self->events_.frames.push_back({info->session_id, frame->track, frame->dts_us, frame->pts_us,
                                    frame->keyframe != 0, frame->size});
  }
  self->cv_.notify_all();  // a test may wait for a number of frames
}

void TestServer::cb_output(void *user, const lg_output_event *e) {
  auto *self = static_cast<TestServer *>(user);
  {
    std::lock_guard lock(self->mutex_);
    self->events_.outputs.push_back({e->type, e->entry_id, e->stream_name, e->path, e->reason,
                                     e->sequence, e->bytes, e->clip_id, e->duration_ms,
                                     e->latency_us, e->status});
  }
  self->cv_.notify_all();
}

void TestServer::cb_failover(void *user, const lg_failover_event *e) {
  auto *self = static_cast<TestServer *>(user);
  {
    std::lock_guard lock(self->mutex_);
    self->events_.failovers.push_back({e->entry_id, e->stream_name, e->kind, e->from, e->to,
                                       e->fault, e->aligned != 0, e->gap_ms, e->lost_ms,
                                       self->events_.output_frames.size()});
  }
  self->cv_.notify_all();
}

void TestServer::cb_output_frame(void *user, const char *, const char *stream_name,
                                 const lg_frame *frame) {
  auto *self = static_cast<TestServer *>(user);
  uint64_t hash = 1469598103934665603ULL;
  for (size_t i = 0; i < frame->size; ++i) {
    hash ^= frame->data[i];
    hash *= 1099511628211ULL;
  }
  {
    std::lock_guard lock(self->mutex_);
    self->events_.output_frames.push_back(
        {stream_name, frame->track, frame->dts_us, frame->pts_us, frame->keyframe != 0, hash});
  }
  self->cv_.notify_all();
}

void TestServer::cb_authorize(void *user, const lg_auth_request *request) {
  auto *self = static_cast<TestServer *>(user);
  std::function<void(const lg_auth_request *)> hook;
  {
    std::lock_guard lock(self->mutex_);
    self->events_.auth.push_back(*request);
    self->events_.auth_tokens.push_back(request->token);
    hook = self->on_authorize_hook_;
  }
  self->cv_.notify_all();
  if (hook) hook(request);
}

void TestServer::set_on_start_hook(std::function<void(const lg_publish_info *)> hook) {
  std::lock_guard lock(mutex_);
  on_start_hook_ = std::move(hook);
}

void TestServer::set_on_authorize_hook(std::function<void(const lg_auth_request *)> hook) {
  std::lock_guard lock(mutex_);
  on_authorize_hook_ = std::move(hook);
}

void TestServer::cb_log(void *user, lg_log_level level, const char *message) {
  auto *self = static_cast<TestServer *>(user);
  std::lock_guard lock(self->mutex_);
  self->log_ += lg_log_level_name(level);
  self->log_ += ": ";
  self->log_ += message;
  self->log_ += '\n';
}

std::vector<Events::FrameRec> frames_of(const Events &ev, uint64_t session, lg_track_type track) {
  std::vector<Events::FrameRec> out;
  for (const auto &f : ev.frames) {
    if (f.session_id == session && f.track == track) out.push_back(f);
  }
  return out;
}

void check_complete(const Events &ev, uint64_t session, const Source &src) {
  auto video = frames_of(ev, session, LG_TRACK_VIDEO);
  auto audio = frames_of(ev, session, LG_TRACK_AUDIO);
  CHECK(static_cast<int>(video.size()) == src.video_frames);
  CHECK(static_cast<int>(audio.size()) == src.audio_frames);
  REQUIRE(!video.empty());
  CHECK(video.front().key);
  for (size_t i = 1; i < video.size(); ++i) {
    INFO("video frame " << i);
    CHECK(video[i].dts_us > video[i - 1].dts_us);
    CHECK(video[i].pts_us >= video[i].dts_us);
    CHECK(video[i].size > 0);
  }
  for (size_t i = 1; i < audio.size(); ++i) {
    INFO("audio frame " << i);
    CHECK(audio[i].dts_us > audio[i - 1].dts_us);
  }
  // 30 fps: the last video frame is (frames - 1) / 30 s after the first.
  const int64_t span = video.back().dts_us - video.front().dts_us;
  CHECK(std::llabs(span - int64_t(src.video_frames - 1) * 1000000 / 30) <= 1000);
}

}  // namespace lgtest
