/* The fiber scheduler behind host_emulation.h (host build only). */
#include "host_emulation.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ucontext.h>
#include <vector>

namespace tc_emu {

thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

constexpr size_t kStackBytes = 64 * 1024;
constexpr unsigned kMaxThreads = 1024;

struct Fiber {
    ucontext_t context;
    State state;
};

/* One OS thread's launch in progress. Stacks are kept between launches. */
struct Launch {
    const char *kernel = nullptr;
    const std::function<void()> *body = nullptr;
    ucontext_t scheduler;
    std::vector<Fiber> fibers;
    std::vector<std::unique_ptr<char[]>> stacks;
    std::vector<uint64_t> exchange;  // one slot per thread, for shuffles
    unsigned current = 0;
};

thread_local Launch *active = nullptr;
thread_local Launch state_of_this_thread;

[[noreturn]] void fatal(const char *what) {
    std::fprintf(stderr, "tessera host emulation: kernel %s, block (%u,%u,%u): %s\n",
                 active && active->kernel ? active->kernel : "?", block_idx.x, block_idx.y, block_idx.z, what);
    std::fflush(stderr);
    std::abort();
}

void set_thread_index(unsigned linear) {
    thread_idx = dim3(linear % block_dim.x, linear / block_dim.x % block_dim.y, linear / (block_dim.x * block_dim.y));
}

void fiber_entry() {
    Launch *l = active;
    (*l->body)();
    l->fibers[l->current].state = State::Done;
    // uc_link returns to the scheduler
}

void wait_at(State barrier) {
    Launch *l = active;
    if (l == nullptr) fatal("a barrier outside a kernel");
    Fiber &self = l->fibers[l->current];
    self.state = barrier;
    swapcontext(&self.context, &l->scheduler);
    set_thread_index(l->current);  // the scheduler ran other fibers meanwhile
}

/* Opens the barriers that every thread concerned has reached; false when none could open. */
bool open_barriers(Launch &l, unsigned threads) {
    bool opened = false;
    for (unsigned warp = 0; warp * 32 < threads; warp++) {
        unsigned first = warp * 32, last = first + 32 < threads ? first + 32 : threads;
        unsigned waiting = 0, done = 0;
        for (unsigned t = first; t < last; t++) {
            if (l.fibers[t].state == State::AtWarpBarrier) waiting++;
            if (l.fibers[t].state == State::Done) done++;
        }
        if (waiting > 0 && done > 0) fatal("a warp shuffle or __syncwarp after other lanes of the warp exited");
        if (waiting == last - first) {
            for (unsigned t = first; t < last; t++) l.fibers[t].state = State::Runnable;
            opened = true;
        }
    }
    if (opened) return true;
    unsigned at_block = 0, live = 0;
    for (unsigned t = 0; t < threads; t++) {
        if (l.fibers[t].state != State::Done) live++;
        if (l.fibers[t].state == State::AtBlockBarrier) at_block++;
    }
    if (live > 0 && at_block == live) {
        for (unsigned t = 0; t < threads; t++)
            if (l.fibers[t].state == State::AtBlockBarrier) l.fibers[t].state = State::Runnable;
        return true;
    }
    return false;
}

void run_block(Launch &l, unsigned threads) {
    for (unsigned t = 0; t < threads; t++) {
        Fiber &f = l.fibers[t];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = l.stacks[t].get();
        f.context.uc_stack.ss_size = kStackBytes;
        f.context.uc_link = &l.scheduler;
        makecontext(&f.context, fiber_entry, 0);
        f.state = State::Runnable;
    }
    for (;;) {
        bool ran = false, live = false;
        for (unsigned t = 0; t < threads; t++) {
            if (l.fibers[t].state != State::Runnable) continue;
            ran = true;
            l.current = t;
            set_thread_index(t);
            swapcontext(&l.scheduler, &l.fibers[t].context);
        }
        for (unsigned t = 0; t < threads && !live; t++) live = l.fibers[t].state != State::Done;
        if (!live) return;
        if (!open_barriers(l, threads) && !ran) fatal("deadlock: some threads wait at a barrier the others never reach");
    }
}

}  // namespace

void launch(const char *kernel, dim3 grid, dim3 block, const std::function<void()> &body) {
    unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads > kMaxThreads) fatal("a block of 0 or more than 1024 threads");
    if (grid.x == 0 || grid.y == 0 || grid.z == 0) fatal("an empty grid");
    if (grid.y > 65535 || grid.z > 65535) fatal("gridDim.y or gridDim.z above 65535");
    if (active != nullptr) fatal("a launch from inside a kernel");
    Launch &l = state_of_this_thread;
    l.kernel = kernel;
    l.body = &body;
    if (l.fibers.size() < threads) l.fibers.resize(threads);
    while (l.stacks.size() < threads) l.stacks.emplace_back(new char[kStackBytes]);
    if (l.exchange.size() < threads) l.exchange.resize(threads);
    active = &l;
    grid_dim = grid;
    block_dim = block;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                block_idx = dim3(x, y, z);
                run_block(l, threads);
            }
    active = nullptr;
}

void sync_block() { wait_at(State::AtBlockBarrier); }

void sync_warp() { wait_at(State::AtWarpBarrier); }

uint64_t shuffle_bits(uint64_t v, int src_lane) {
    Launch *l = active;
    if (l == nullptr) fatal("a shuffle outside a kernel");
    unsigned self = l->current, warp_base = self / 32 * 32;
    unsigned threads = block_dim.x * block_dim.y * block_dim.z;
    if (src_lane < 0 || src_lane >= 32 || warp_base + src_lane >= threads) fatal("a shuffle from a lane outside the warp");
    l->exchange[self] = v;
    sync_warp();
    uint64_t out = l->exchange[warp_base + src_lane];
    sync_warp();  // nobody overwrites a slot before every lane has read
    return out;
}

}  // namespace tc_emu
