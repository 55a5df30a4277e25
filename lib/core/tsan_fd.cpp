// ThreadSanitizer builds only (LG_TSAN): tells TSan about the descriptors
// libuv closes. libuv closes them with a raw close syscall, which TSan does
// not see, so it would take the next file that reuses the number on another
// thread for a race with the closed socket. These definitions (hidden, so
// they bind only our own calls) stand in for libuv's uv_close and
// uv_loop_close, call them, and then report the closes to TSan.
#if defined(LG_TSAN_BUILD)

#include <dlfcn.h>
#include <uv.h>

namespace {

template <typename Fn>
Fn next_symbol(const char *name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

// Reports a close that libuv made with a raw syscall. Its own function, so
// that tests/tsan.supp can name it: a descriptor number libuv reused after
// libmicrohttpd's accept4 looks like a race here and nowhere else.
__attribute__((noinline)) void lg_tsan_report_close(int fd);

extern "C" {

// TSan's hook for a close made outside its interceptors (the compiler-rt
// syscall hooks, exported by libtsan).
void __sanitizer_syscall_pre_impl_close(long fd);

void uv_close(uv_handle_t *handle, uv_close_cb close_cb) {
  static const auto real = next_symbol<void (*)(uv_handle_t *, uv_close_cb)>("uv_close");
  uv_os_fd_t fd = -1;
  // Only these own their descriptor; a poll handle's belongs to its caller.
  const uv_handle_type type = handle->type;
  const bool owns_fd = type == UV_TCP || type == UV_NAMED_PIPE || type == UV_TTY || type == UV_UDP;
  if (owns_fd && uv_fileno(handle, &fd) != 0) fd = -1;
  // libuv is done with the descriptor (unwatched and closed) on return.
  real(handle, close_cb);
  if (fd >= 0) lg_tsan_report_close(fd);
}

int uv_loop_close(uv_loop_t *loop) {
  static const auto real = next_symbol<int (*)(uv_loop_t *)>("uv_loop_close");
  const int fds[] = {loop->backend_fd,       loop->async_io_watcher.fd, loop->async_wfd,
                     loop->signal_pipefd[0], loop->signal_pipefd[1],    loop->emfile_fd,
                     loop->inotify_fd};
  const int rc = real(loop);
  if (rc == 0) {
    for (const int fd : fds) {
      if (fd >= 0) lg_tsan_report_close(fd);
    }
  }
  return rc;
}

}  // extern "C"

void lg_tsan_report_close(int fd) {
  __sanitizer_syscall_pre_impl_close(fd);
}

#endif  // LG_TSAN_BUILD
