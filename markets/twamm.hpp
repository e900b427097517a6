#pragma once
// Time-weighted average market maker: Paradigm's TWAMM (White, Robinson,
// Adams, "TWAMM", July 2021), with the bookkeeping of Fraxswap's
// LongTermOrders (per-pool sales rates, rate changes scheduled on interval
// boundaries, an earnings-per-unit-of-sales-rate accumulator).
//
// A Twamm is an embedded Cpmm, an ordinary Uniswap v2 pool anyone can swap on
// or provide liquidity to, plus two long-term order pools: one sells asset_x
// for asset_y, the other asset_y for asset_x, each at a constant rate (tokens
// per block) between interval boundaries. Between two such boundaries the two
// pools trade against the embedded pool continuously; the closed form of that
// trade (virtual_trade below) is evaluated lazily, once per boundary at which
// some order starts or expires, when the market is next touched. Time is in
// blocks. Nothing here allocates after construction or throws outside the
// constructor: a bad transaction is a RevertReason and changes nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/cpmm.hpp"
#include "markets/reserved_vector.hpp"

namespace defisim::markets {

struct TwammParams {
  CpmmParams pool;  // the embedded pool: assets, reserves, fee
  std::uint64_t order_interval_blocks =
      10;                           // orders start and expire only on multiples of this (>= 1)
  std::uint32_t max_orders = 4096;  // orders ever placed; all storage is reserved up front
};

enum class OrderStatus : std::uint8_t {
  open,       // waiting for its start, selling, or expired with proceeds not yet withdrawn
  cancelled,  // ended by cancel_order: its unsold input and proceeds were paid
  finished,   // expired and its last proceeds withdrawn
};

struct LongTermOrder {
  core::AgentIndex owner = core::no_agent;
  core::AssetIndex token_in = 0;   // sold
  core::AssetIndex token_out = 0;  // bought
  OrderStatus status = OrderStatus::open;
  double amount_in = 0.0;              // accepted, tokens of token_in
  double sales_rate = 0.0;             // tokens of token_in per block: amount_in / (expiry - start)
  core::BlockNumber start_block = 0;   // first interval boundary at or after placement
  core::BlockNumber expiry_block = 0;  // start + whole intervals covering the duration
  double proceeds_paid = 0.0;          // token_out paid to the owner so far
  double refund_paid = 0.0;            // token_in returned by cancel_order
};

struct LongTermOrderResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  std::uint32_t order_id = 0;
  core::AssetIndex token_in = 0;
  double amount_in = 0.0;  // taken (all of it on success, 0 on revert)
  core::BlockNumber start_block = 0;
  core::BlockNumber expiry_block = 0;
  double sales_rate = 0.0;  // tokens of token_in per block
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct OrderSettlement {
  core::RevertReason revert_reason = core::RevertReason::none;
  std::uint32_t order_id = 0;
  core::AssetIndex refund_token = 0;    // the order's token_in
  double refund_amount = 0.0;           // unsold input paid back (cancel only)
  core::AssetIndex proceeds_token = 0;  // the order's token_out
  double proceeds_amount = 0.0;         // purchased tokens paid out
  bool order_closed = false;            // the order is now cancelled or finished
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

// The closed-form result of both order pools selling into the embedded pool
// for one segment (constant rates), fee convention as in Fraxswap: each
// pool's input pays the pool fee f, the trade runs on the net inputs
// x_in = (1-f) x_sold, y_in = (1-f) y_sold, and the fee parts are added to
// the reserves afterwards (markets/README.md, "twamm", derives every line).
struct VirtualTrade {
  double x_out = 0.0;      // asset_x paid to the pool selling y
  double y_out = 0.0;      // asset_y paid to the pool selling x
  double reserve_x = 0.0;  // embedded reserves afterwards, fees included
  double reserve_y = 0.0;
  double fee_x = 0.0;  // f * x_sold, left in the reserves for the LPs
  double fee_y = 0.0;
};
// Requires positive finite reserves, fee in [0, 1) and sold amounts >= 0.
// One side empty: exactly Cpmm::swap of the other side's gross input (fee
// on the input, the whole input into the reserve). Both sides: with
// alpha = x_in/x0, beta = y_in/y0, s = sqrt(alpha*beta) = sqrt(x_in*y_in/k)
// and h = s*coth(s),
//   x_end = x0 (alpha + h) / (beta + h),   y_end = y0 (beta + h) / (alpha + h),
//   x_out = x0 (beta (1 + alpha) + alpha (h - 1)) / (beta + h)   (= x0 + x_in - x_end),
//   y_out = y0 (alpha (1 + beta) + beta (h - 1)) / (alpha + h)   (= y0 + y_in - y_end),
// which is the paper's x_end = sqrt(k x_in/y_in) (e^{2s} + c)/(e^{2s} - c)
// rearranged so that no term cancels.
VirtualTrade virtual_trade(double reserve_x, double reserve_y, double fee, double x_sold,
                           double y_sold);

// s*coth(s) - 1 for s >= 0, to within a few ulps and bit-identical on every
// machine (arithmetic and core::exp_det only). Exposed for its tests.
double x_coth_x_minus_one(double s);

class Twamm {
 public:
  // Throws std::invalid_argument on bad params (the embedded Cpmm's checks,
  // order_interval_blocks == 0, max_orders == 0 or above 2^31 - 1).
  explicit Twamm(const TwammParams& params);

  // The embedded pool. Swaps and liquidity changes go to it directly, but
  // only after execute_virtual_orders(current block), as Fraxswap executes
  // the virtual orders at the start of every swap, mint and burn.
  const Cpmm& pool() const { return pool_; }
  Cpmm& pool() { return pool_; }
  core::BlockNumber order_interval_blocks() const { return order_interval_blocks_; }
  std::uint32_t max_orders() const { return max_orders_; }

  // Virtual orders have been executed up to (and including the boundary at) this block.
  core::BlockNumber last_virtual_order_block() const { return last_virtual_order_block_; }
  // Executes the virtual orders from last_virtual_order_block() up to
  // `block`: one closed-form segment per boundary at which some order
  // starts or expires (boundaries where nothing changes are not visited),
  // plus the final partial segment. Cost grows with such boundaries, not
  // with the blocks elapsed. Idempotent for the same block; never goes back
  // (an earlier block does nothing).
  void execute_virtual_orders(core::BlockNumber block);
  // Closed-form segments evaluated so far (segments in which something was sold).
  std::uint64_t segments_evaluated() const { return segments_evaluated_; }

  // Some order is selling now or starts later.
  bool has_active_orders() const;
  // Tokens per block sold now by each order pool.
  double sales_rate_x() const { return pools_[sells_x].sales_rate.value(); }
  double sales_rate_y() const { return pools_[sells_y].sales_rate.value(); }

  // Places a long-term order selling amount_in of token_in over
  // duration_blocks, rounded up to whole intervals, from the first interval
  // boundary at or after current_block. Executes the virtual orders up to
  // current_block first if the caller has not (after the checks, so a
  // revert changes nothing); a current_block before
  // last_virtual_order_block() is taken as that block, since the past has
  // already been executed. Reverts: invalid_token, invalid_amount (amount
  // not positive and finite, duration 0, or a schedule past the last
  // representable block or a rate that underflows), unsupported (max_orders
  // orders placed already).
  LongTermOrderResult place_order(core::AgentIndex owner, core::AssetIndex token_in,
                                  double amount_in, std::uint64_t duration_blocks,
                                  core::BlockNumber current_block);
  // Ends an order before its expiry: pays its unsold input and its proceeds
  // so far, as of last_virtual_order_block() (execute first). Reverts:
  // not_owner (unknown id or another owner), unsupported (cancelled,
  // finished, or expired: withdraw the proceeds instead).
  OrderSettlement cancel_order(core::AgentIndex owner, std::uint32_t order_id);
  // Pays the proceeds so far, as of last_virtual_order_block(); a running
  // order continues, an expired one is finished. Reverts: not_owner,
  // unsupported (cancelled or finished, or still running with nothing to
  // withdraw, as Fraxswap requires proceeds > 0).
  OrderSettlement withdraw_proceeds(core::AgentIndex owner, std::uint32_t order_id);

  // Requires order_id < order_count().
  const LongTermOrder& order(std::uint32_t order_id) const { return orders_[order_id]; }
  std::uint32_t order_count() const { return static_cast<std::uint32_t>(orders_.size()); }
  // What withdraw_proceeds / cancel_order would pay now (0 for an unknown id).
  double proceeds_of(std::uint32_t order_id) const;
  double unsold_of(std::uint32_t order_id) const;

  // Every token the market holds of `asset`: the embedded reserve, the order
  // pool's unsold input and the other pool's proceeds not yet withdrawn
  // (0 for an asset it does not trade). Changes only by what goes in and
  // out, up to rounding.
  double holdings_of(core::AssetIndex asset) const;
  // The order pool selling token_in: its input not yet sold (including
  // orders not started) and its proceeds (in the other token) not yet
  // withdrawn. Both are >= 0 at all times.
  double pooled_unsold(core::AssetIndex token_in) const;
  double pooled_proceeds(core::AssetIndex token_in) const;

 private:
  static constexpr int sells_x = 0;
  static constexpr int sells_y = 1;

  // A sum kept as an unevaluated pair high + low (Knuth's TwoSum), so that
  // adding and later removing sales rates of very different sizes leaves the
  // others intact: a plain double would lose a 1e-5 rate next to a 1e20 one.
  struct CompensatedSum {
    double high = 0.0;
    double low = 0.0;
    void add(double amount);
    void add(const CompensatedSum& other);
    double value() const { return high; }  // high is high + low rounded
  };

  // One order pool: every open order selling the same token.
  struct OrderPool {
    CompensatedSum sales_rate;         // tokens per block, the selling orders' rates
    std::uint32_t selling_orders = 0;  // started, not expired, not cancelled
    std::uint32_t open_orders = 0;     // status open (claims on unsold or proceeds)
    double reward_factor = 0.0;        // proceeds earned per unit of sales rate, cumulative
    double unsold = 0.0;               // input not yet sold, tokens of the sold asset
    double proceeds = 0.0;             // earned and not yet withdrawn, tokens of the other asset
  };

  // What changes for one order pool at one boundary.
  struct PoolChange {
    CompensatedSum sales_rate_change;   // rates of orders starting minus rates of orders ending
    std::uint32_t starting_orders = 0;  // open orders starting here
    std::uint32_t ending_orders = 0;    // open orders expiring here
    double reward_factor = 0.0;         // the pool's reward_factor when the boundary was crossed
  };

  // An interval boundary at which some order started or expires. Records
  // are never removed (orders refer to them by index for their reward factor
  // at start and expiry); at most two per order, so 2 * max_orders in all.
  struct Boundary {
    core::BlockNumber block = 0;
    PoolChange changes[2];
    bool has_orders() const;
  };

  // Bookkeeping of one order beside its public LongTermOrder.
  struct OrderAccount {
    std::uint32_t start_boundary = 0;
    std::uint32_t expiry_boundary = 0;
    bool has_withdrawn = false;            // proceeds counted from reward_factor_withdrawn
    double reward_factor_withdrawn = 0.0;  // the pool's reward_factor at the last withdrawal
  };

  struct OrderSchedule {
    bool valid = false;
    core::BlockNumber start_block = 0;
    core::BlockNumber expiry_block = 0;
  };

  static int pool_index_of(bool sells_asset_x) { return sells_asset_x ? sells_x : sells_y; }
  int pool_index(const LongTermOrder& order) const {
    return pool_index_of(order.token_in == pool_.asset_x());
  }
  OrderSchedule schedule_order(core::BlockNumber now, std::uint64_t duration_blocks) const;
  std::uint32_t find_or_add_boundary(core::BlockNumber block);
  std::uint32_t attach_start(int pool, core::BlockNumber block, double sales_rate);
  std::uint32_t attach_expiry(int pool, core::BlockNumber block, double sales_rate);
  void detach_order(std::uint32_t order_id);
  void advance_to(core::BlockNumber block);
  void evaluate_segment(core::BlockNumber blocks);
  void cross_boundary(Boundary& boundary);
  bool has_started(const LongTermOrder& order) const {
    return order.start_block <= last_virtual_order_block_;
  }
  bool has_expired(const LongTermOrder& order) const {
    return order.expiry_block <= last_virtual_order_block_;
  }
  bool owns(core::AgentIndex owner, std::uint32_t order_id) const;
  // A settlement of `order_id` with its tokens filled in, or reverting
  // not_owner if `owner` does not own it: what cancel and withdraw start from.
  OrderSettlement settlement_of(core::AgentIndex owner, std::uint32_t order_id) const;
  OrderSettlement settle(std::uint32_t order_id, double refund, double proceeds, bool closes);

  Cpmm pool_;
  core::BlockNumber order_interval_blocks_;
  std::uint32_t max_orders_;
  core::BlockNumber last_virtual_order_block_ = 0;
  std::uint64_t segments_evaluated_ = 0;
  std::uint32_t pending_orders_ = 0;  // open orders that have not started yet
  std::array<OrderPool, 2> pools_;
  ReservedVector<LongTermOrder> orders_;    // by order id; capacity max_orders
  ReservedVector<OrderAccount> accounts_;   // by order id; capacity max_orders
  ReservedVector<Boundary> boundaries_;     // in creation order; capacity 2 * max_orders
  ReservedVector<std::uint32_t> schedule_;  // boundary indices sorted by block
  std::size_t next_boundary_ = 0;           // schedule_[next_boundary_..] are not crossed yet
};

}  // namespace defisim::markets
