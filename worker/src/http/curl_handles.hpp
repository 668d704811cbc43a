// Owners for libcurl's C handles: each lives in a std::unique_ptr whose
// deleter is the handle's own cleanup function, so no path leaks one.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace stocksync::worker {

struct CurlEasyCleanup {
  void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
};
struct CurlMultiCleanup {
  void operator()(CURLM *multi) const { curl_multi_cleanup(multi); }
};
struct CurlSlistCleanup {
  void operator()(curl_slist *list) const { curl_slist_free_all(list); }
};

using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyCleanup>;
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiCleanup>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistCleanup>;

// Calls curl_global_init once per process (it is not thread-safe, so the
// first CurlHttpClient does it before any other thread could use curl).
void curl_global_init_once();

}  // namespace stocksync::worker
