// The public headers as C++ (C++11 and up), with -pedantic.
#include <livegate/livegate.h>

int main() {
  lg_url_options opts;
  lg_url_options_init(&opts);
  return lg_strerror(LG_E_AUTH) != nullptr && opts.port == 0 ? 0 : 1;
}
