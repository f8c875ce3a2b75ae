/* The fiber scheduler behind host_emulation.h (host build only). */
#include "host_emulation.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

/*
 * Switching fibers. NOTE: glibc's swapcontext saves and restores the signal mask with a system call on every switch,
 * which made emulated kernels several times slower; these two routines switch stacks in user space, saving what the
 * x86-64 System V ABI says a callee must preserve (rbx, rbp, r12-r15, the SSE and x87 control words).
 */
extern "C" {
__attribute__((visibility("hidden"))) void tc_emu_switch(void **save_sp, void *next_sp);
__attribute__((visibility("hidden"))) void tc_emu_fiber_start();
}
asm(R"(
    .text
    .globl tc_emu_switch
    .hidden tc_emu_switch
    .type tc_emu_switch, @function
tc_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tc_emu_switch, .-tc_emu_switch

    .globl tc_emu_fiber_start
    .hidden tc_emu_fiber_start
    .type tc_emu_fiber_start, @function
tc_emu_fiber_start:
    call *%r12
    ud2
    .size tc_emu_fiber_start, .-tc_emu_fiber_start
)");

namespace tc_emu {

dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

constexpr size_t kStackBytes = 32 * 1024;
constexpr unsigned kMaxThreads = 1024;

struct Fiber {
    void *sp;  // the saved stack pointer while the fiber is switched out
    State state;
};

/* The launch in progress. Stacks are kept between launches. */
struct Launch {
    const char *kernel = nullptr;
    const std::function<void()> *body = nullptr;
    void *scheduler_sp = nullptr;
    std::vector<Fiber> fibers;
    std::vector<std::unique_ptr<char[]>> stacks;
    std::vector<uint64_t> exchange;  // one slot per thread, for shuffles
    unsigned current = 0;
};

Launch *active = nullptr;  // the launch in progress, under launch_lock
Launch the_launch;
std::mutex launch_lock;
thread_local bool this_thread_launching = false;  // read once a launch: the TLS cost does not matter here

[[noreturn]] void fatal(const char *what) {
    std::fprintf(stderr, "tessera host emulation: kernel %s, block (%u,%u,%u): %s\n",
                 active && active->kernel ? active->kernel : "?", block_idx.x, block_idx.y, block_idx.z, what);
    std::fflush(stderr);
    std::abort();
}

void set_thread_index(unsigned linear) {
    thread_idx = dim3(linear % block_dim.x, linear / block_dim.x % block_dim.y, linear / (block_dim.x * block_dim.y));
}

[[noreturn]] void fiber_entry() {
    Launch *l = active;
    (*l->body)();
    Fiber &self = l->fibers[l->current];
    self.state = State::Done;
    tc_emu_switch(&self.sp, l->scheduler_sp);
    fatal("a finished fiber was resumed");
}

/*
 * A new fiber's stack, as tc_emu_switch leaves a switched-out one: the control words, six callee-saved registers
 * (r12 holding the entry function) and tc_emu_fiber_start as the return address. tc_emu_fiber_start then runs with
 * the stack 16-byte aligned, as a call expects.
 */
void *initial_stack(char *stack, size_t bytes) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
    uint64_t *sp = reinterpret_cast<uint64_t *>(top - 80);
    uint32_t mxcsr;
    uint16_t fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    sp[0] = uint64_t(mxcsr) | (uint64_t(fpucw) << 32);
    sp[1] = 0;                                                 // r15
    sp[2] = 0;                                                 // r14
    sp[3] = 0;                                                 // r13
    sp[4] = reinterpret_cast<uint64_t>(&fiber_entry);          // r12
    sp[5] = 0;                                                 // rbx
    sp[6] = 0;                                                 // rbp
    sp[7] = reinterpret_cast<uint64_t>(&tc_emu_fiber_start);   // return address
    return sp;
}

void wait_at(State barrier) {
    Launch *l = active;
    if (l == nullptr) fatal("a barrier outside a kernel");
    Fiber &self = l->fibers[l->current];
    self.state = barrier;
    tc_emu_switch(&self.sp, l->scheduler_sp);
    set_thread_index(l->current);  // the scheduler ran other fibers meanwhile
}

/*
 * Runs the threads [first, last) of one warp until each has ended or waits at a block barrier. Lanes take turns,
 * each running to its next barrier; a warp barrier opens as soon as every lane of the warp waits at it. Running a
 * warp at a time keeps 32 stacks in the caches instead of a whole block's.
 */
void run_warp(Launch &l, unsigned first, unsigned last) {
    for (;;) {
        for (unsigned t = first; t < last; t++) {
            if (l.fibers[t].state != State::Runnable) continue;
            l.current = t;
            set_thread_index(t);
            tc_emu_switch(&l.scheduler_sp, l.fibers[t].sp);
        }
        unsigned at_warp = 0, done = 0;
        for (unsigned t = first; t < last; t++) {
            if (l.fibers[t].state == State::AtWarpBarrier) at_warp++;
            if (l.fibers[t].state == State::Done) done++;
        }
        if (at_warp == 0) return;  // every lane ended or waits for the block
        if (done > 0) fatal("a warp shuffle or __syncwarp after other lanes of the warp exited");
        if (at_warp != last - first) fatal("deadlock: lanes of a warp wait at __syncthreads while others wait in the warp");
        for (unsigned t = first; t < last; t++) l.fibers[t].state = State::Runnable;
    }
}

void run_block(Launch &l, unsigned threads) {
    for (unsigned t = 0; t < threads; t++) {
        l.fibers[t].sp = initial_stack(l.stacks[t].get(), kStackBytes);
        l.fibers[t].state = State::Runnable;
    }
    for (;;) {
        for (unsigned first = 0; first < threads; first += 32) run_warp(l, first, first + 32 < threads ? first + 32 : threads);
        // Every thread has ended or waits at __syncthreads: the barrier opens for all of them at once.
        bool live = false;
        for (unsigned t = 0; t < threads; t++) {
            if (l.fibers[t].state == State::AtBlockBarrier) {
                l.fibers[t].state = State::Runnable;
                live = true;
            }
        }
        if (!live) return;
    }
}

}  // namespace

void launch(const char *kernel, dim3 grid, dim3 block, const std::function<void()> &body) {
    unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads > kMaxThreads) fatal("a block of 0 or more than 1024 threads");
    if (grid.x == 0 || grid.y == 0 || grid.z == 0) fatal("an empty grid");
    if (grid.y > 65535 || grid.z > 65535) fatal("gridDim.y or gridDim.z above 65535");
    if (this_thread_launching) fatal("a launch from inside a kernel");
    std::lock_guard<std::mutex> hold(launch_lock);
    this_thread_launching = true;
    Launch &l = the_launch;
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
    this_thread_launching = false;
}

void sync_block() { wait_at(State::AtBlockBarrier); }

void misaligned(const void *address) {
    char what[96];
    std::snprintf(what, sizeof what, "a 16-byte load from %p, which is not 16-byte aligned (a fault on a GPU)", address);
    fatal(what);
}

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
