// The Boost.Asio headers the runtime uses, included under one diagnostic exception: g++ 12 at
// -O2 reports a false "potential null pointer dereference" inside Asio's epoll reactor
// (scheduler::compensating_work_started, inlined into descriptor_state::perform_io), which
// -Werror would make fatal. The diagnostic is about Asio's own code, and only the first inclusion
// of a header counts, so the runtime's headers include Asio through this one.
#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without including it

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#pragma GCC diagnostic pop
