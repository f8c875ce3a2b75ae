/* The fiber scheduler behind host_emulation.h (host build only). */
#include "host_emulation.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
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

thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

constexpr size_t kStackBytes = 64 * 1024;
constexpr unsigned kMaxThreads = 1024;

struct Fiber {
    void *sp;  // the saved stack pointer while the fiber is switched out
    State state;
};

/* One OS thread's launch in progress. Stacks are kept between launches. */
struct Launch {
    const char *kernel = nullptr;
    const std::function<void()> *body = nullptr;
    void *scheduler_sp = nullptr;
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
        l.fibers[t].sp = initial_stack(l.stacks[t].get(), kStackBytes);
        l.fibers[t].state = State::Runnable;
    }
    for (;;) {
        bool ran = false, live = false;
        for (unsigned t = 0; t < threads; t++) {
            if (l.fibers[t].state != State::Runnable) continue;
            ran = true;
            l.current = t;
            set_thread_index(t);
            tc_emu_switch(&l.scheduler_sp, l.fibers[t].sp);
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
