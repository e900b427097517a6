#include "markets/twamm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "framework/core/deterministic_math.hpp"

namespace defisim::markets {

namespace {

using core::BlockNumber;
using core::RevertReason;

bool is_positive_finite(double amount) { return amount > 0.0 && std::isfinite(amount); }

// Levels of Lambert's continued fraction evaluated below s = 1: at s = 1 the
// truncation error of 8 levels is ~3e-17 relative (checked against 50-digit
// arithmetic), below an ulp; smaller s converge faster.
constexpr int continued_fraction_levels = 8;

// Orders' ids and boundary indices are uint32: 2 * max_orders must fit.
constexpr std::uint32_t max_orders_limit = 0x7FFF'FFFF;

// A plain swap of `sold` (gross, fee included) into the pool: exactly
// Cpmm::swap's arithmetic (getAmountOut on the net input, the whole input
// into the reserve), so the one-sided segment is bit-for-bit a swap.
struct OneSidedSwap {
  double amount_out;
  double reserve_in;
  double reserve_out;
};
OneSidedSwap one_sided_swap(double reserve_in, double reserve_out, double gamma, double sold) {
  const double net_in = gamma * sold;
  const double amount_out = reserve_out * (net_in / (reserve_in + net_in));
  return {amount_out, reserve_in + sold, reserve_out - amount_out};
}

// Both pools sell: the closed form on the net inputs (markets/README.md,
// "twamm", derives it from the paper's). Every term is non-negative, so
// nothing cancels however lopsided the two sides are, and x_in/x0 == y_in/y0
// leaves the reserves exactly unchanged ((alpha + h)/(beta + h) == 1).
VirtualTrade two_sided_trade(double reserve_x, double reserve_y, double gamma, VirtualTrade trade,
                             double x_sold, double y_sold) {
  const double alpha = gamma * x_sold / reserve_x;
  const double beta = gamma * y_sold / reserve_y;
  // sqrt of each factor: alpha * beta can underflow or overflow where s cannot.
  const double s = std::sqrt(alpha) * std::sqrt(beta);
  const double h_minus_one = x_coth_x_minus_one(s);
  const double h = 1.0 + h_minus_one;
  trade.x_out = reserve_x * ((beta * (1.0 + alpha) + alpha * h_minus_one) / (beta + h));
  trade.y_out = reserve_y * ((alpha * (1.0 + beta) + beta * h_minus_one) / (alpha + h));
  trade.reserve_x = reserve_x * ((alpha + h) / (beta + h)) + trade.fee_x;
  trade.reserve_y = reserve_y * ((beta + h) / (alpha + h)) + trade.fee_y;
  return trade;
}

}  // namespace

double x_coth_x_minus_one(double s) {
  if (s < 1.0) {
    // s coth s = s / tanh s = 1 + z/(3 + z/(5 + z/(7 + ...))), z = s^2
    // (Lambert's continued fraction of tanh). All terms positive: no
    // cancellation, unlike s + 2s/expm1(2s) - 1 for small s.
    const double z = s * s;
    // Truncating after level L changes the result by about z^(L+1) / ((3 5
    // ... (2L+3))^2) relative: 8 levels are needed near s = 1, but a
    // per-block segment has z far below 1e-6, where 2 levels are exact to
    // well under an ulp (7e-23), as are 4 below 1e-3 (1e-22). The chain of
    // dependent divisions is most of a segment's cost.
    const int levels = z < 1e-6 ? 2 : z < 1e-3 ? 4 : continued_fraction_levels;
    double denominator = 2.0 * levels + 3.0;
    for (int level = levels; level >= 1; --level) {
      denominator = (2.0 * level + 1.0) + z / denominator;
    }
    return z / denominator;
  }
  // s coth s = s + 2s/(e^{2s} - 1). For s >= 1, e^{2s} >= 7.4 so the
  // subtraction is benign, and (s - 1) >= 0 plus a positive term cannot
  // cancel. For 2s above ~709.8 exp_det is +inf and the term is 0, which is
  // coth s = 1 to double precision.
  return (s - 1.0) + 2.0 * s / (core::exp_det(2.0 * s) - 1.0);
}

VirtualTrade virtual_trade(double reserve_x, double reserve_y, double fee, double x_sold,
                           double y_sold) {
  const double gamma = 1.0 - fee;
  VirtualTrade trade;
  trade.fee_x = fee * x_sold;
  trade.fee_y = fee * y_sold;
  trade.reserve_x = reserve_x;
  trade.reserve_y = reserve_y;
  const bool x_sells = x_sold > 0.0;
  const bool y_sells = y_sold > 0.0;
  if (x_sells && y_sells)
    return two_sided_trade(reserve_x, reserve_y, gamma, trade, x_sold, y_sold);
  if (x_sells) {
    const OneSidedSwap swap = one_sided_swap(reserve_x, reserve_y, gamma, x_sold);
    trade.y_out = swap.amount_out;
    trade.reserve_x = swap.reserve_in;
    trade.reserve_y = swap.reserve_out;
  } else if (y_sells) {
    const OneSidedSwap swap = one_sided_swap(reserve_y, reserve_x, gamma, y_sold);
    trade.x_out = swap.amount_out;
    trade.reserve_y = swap.reserve_in;
    trade.reserve_x = swap.reserve_out;
  }
  return trade;
}

void Twamm::CompensatedSum::add(double amount) {
  // TwoSum (Knuth): sum + error == high + amount exactly in round-to-nearest
  // (the build forbids FMA contraction, which would break it).
  const double sum = high + amount;
  const double amount_part = sum - high;
  const double high_part = sum - amount_part;
  const double error = (high - high_part) + (amount - amount_part);
  const double low_sum = low + error;
  // Renormalise, again by TwoSum, so that `high` is the rounded total.
  const double total = sum + low_sum;
  const double low_part = total - sum;
  const double sum_part = total - low_part;
  low = (sum - sum_part) + (low_sum - low_part);
  high = total;
}

void Twamm::CompensatedSum::add(const CompensatedSum& other) {
  add(other.high);
  add(other.low);
}

bool Twamm::Boundary::has_orders() const {
  for (const PoolChange& change : changes) {
    if (change.starting_orders != 0 || change.ending_orders != 0) return true;
  }
  return false;
}

Twamm::Twamm(const TwammParams& params)
    : pool_(params.pool),
      order_interval_blocks_(params.order_interval_blocks),
      max_orders_(params.max_orders) {
  if (order_interval_blocks_ == 0)
    throw std::invalid_argument("twamm: order_interval_blocks must be >= 1");
  if (max_orders_ == 0 || max_orders_ > max_orders_limit) {
    throw std::invalid_argument("twamm: max_orders must be in [1, 2^31 - 1]");
  }
  // Everything a run can need, now: placing, cancelling, withdrawing and
  // executing then never allocate.
  orders_.reserve(max_orders_);
  accounts_.reserve(max_orders_);
  boundaries_.reserve(2 * static_cast<std::size_t>(max_orders_));
  schedule_.reserve(2 * static_cast<std::size_t>(max_orders_));
}

bool Twamm::has_active_orders() const {
  return pools_[sells_x].selling_orders != 0 || pools_[sells_y].selling_orders != 0 ||
         pending_orders_ != 0;
}

// ------------------------------------------------------------ execution ----

void Twamm::execute_virtual_orders(BlockNumber block) {
  while (next_boundary_ < schedule_.size()) {
    Boundary& boundary = boundaries_[schedule_[next_boundary_]];
    if (boundary.block > block) break;
    // A boundary whose orders were all cancelled changes nothing: it is
    // not a segment end (with a fee, an extra segment end would change the
    // result slightly, see README).
    if (boundary.has_orders()) {
      advance_to(boundary.block);
      cross_boundary(boundary);
    }
    ++next_boundary_;
  }
  advance_to(block);
}

void Twamm::advance_to(BlockNumber block) {
  if (block <= last_virtual_order_block_) return;
  evaluate_segment(block - last_virtual_order_block_);
  last_virtual_order_block_ = block;
}

void Twamm::evaluate_segment(BlockNumber blocks) {
  const double elapsed_blocks = static_cast<double>(blocks);
  OrderPool& x_pool = pools_[sells_x];
  OrderPool& y_pool = pools_[sells_y];
  // max(.., 0): a compensated rate is never meaningfully negative, but a
  // negative amount must not reach the closed form.
  const double rate_x = std::max(x_pool.sales_rate.value(), 0.0);
  const double rate_y = std::max(y_pool.sales_rate.value(), 0.0);
  // Never sell more than the pool holds (rounding in rate * blocks).
  const double x_sold = std::min(rate_x * elapsed_blocks, x_pool.unsold);
  const double y_sold = std::min(rate_y * elapsed_blocks, y_pool.unsold);
  if (!(x_sold > 0.0) && !(y_sold > 0.0)) return;
  // An emptied embedded pool (every LP share burnt) cannot price anything:
  // the orders pause and their input stays in the order pools (README).
  if (!(pool_.reserve_x() > 0.0) || !(pool_.reserve_y() > 0.0)) return;
  const VirtualTrade trade =
      virtual_trade(pool_.reserve_x(), pool_.reserve_y(), pool_.fee(), x_sold, y_sold);
  pool_.apply_virtual_trade(trade.reserve_x, trade.reserve_y, trade.fee_x, trade.fee_y);
  x_pool.unsold -= x_sold;
  y_pool.unsold -= y_sold;
  x_pool.proceeds += trade.y_out;
  y_pool.proceeds += trade.x_out;
  // Fraxswap's rewardFactor: an order with rate r selling throughout earns r * (increase).
  if (rate_x > 0.0) x_pool.reward_factor += trade.y_out / rate_x;
  if (rate_y > 0.0) y_pool.reward_factor += trade.x_out / rate_y;
  ++segments_evaluated_;
}

void Twamm::cross_boundary(Boundary& boundary) {
  for (const int index : {sells_x, sells_y}) {
    PoolChange& change = boundary.changes[index];
    OrderPool& pool = pools_[index];
    // Orders ending here read their final reward factor from it, orders
    // starting here their first.
    change.reward_factor = pool.reward_factor;
    pool.sales_rate.add(change.sales_rate_change);
    pending_orders_ -= change.starting_orders;
    // Every order ending here was selling until now, so this cannot wrap.
    pool.selling_orders = pool.selling_orders - change.ending_orders + change.starting_orders;
    // Exactly zero when nothing sells, whatever the rounding of the sums.
    if (pool.selling_orders == 0) pool.sales_rate = CompensatedSum{};
  }
}

// -------------------------------------------------------------- schedule ---

Twamm::OrderSchedule Twamm::schedule_order(BlockNumber now, std::uint64_t duration_blocks) const {
  constexpr BlockNumber last_block = std::numeric_limits<BlockNumber>::max();
  const BlockNumber interval = order_interval_blocks_;
  OrderSchedule schedule;
  BlockNumber start = now;
  const BlockNumber past_boundary = now % interval;
  if (past_boundary != 0) {
    const BlockNumber to_next_boundary = interval - past_boundary;
    if (start > last_block - to_next_boundary) return schedule;
    start += to_next_boundary;
  }
  // ceil(duration / interval) without overflow (duration >= 1).
  const std::uint64_t intervals = (duration_blocks - 1) / interval + 1;
  if (intervals > (last_block - start) / interval) return schedule;
  schedule.valid = true;
  schedule.start_block = start;
  schedule.expiry_block = start + intervals * interval;
  return schedule;
}

std::uint32_t Twamm::find_or_add_boundary(BlockNumber block) {
  const auto position = std::lower_bound(schedule_.begin(), schedule_.end(), block,
                                         [this](std::uint32_t index, BlockNumber wanted) {
                                           return boundaries_[index].block < wanted;
                                         });
  if (position != schedule_.end() && boundaries_[*position].block == block) return *position;
  const auto index = static_cast<std::uint32_t>(boundaries_.size());
  Boundary boundary;
  boundary.block = block;
  // Only an order starting at the last executed block asks for a boundary
  // that is not in the future: it is crossed already (no segment lies
  // before it), so its reward factors are the current ones. Crossed
  // boundaries all lie at or before that block and uncrossed ones after it,
  // so it goes exactly at the cursor.
  const bool crossed = block <= last_virtual_order_block_;
  if (crossed) {
    for (const int pool : {sells_x, sells_y})
      boundary.changes[pool].reward_factor = pools_[pool].reward_factor;
  }
  boundaries_.push_back(boundary);
  schedule_.insert(position, index);
  if (crossed) ++next_boundary_;
  return index;
}

std::uint32_t Twamm::attach_start(int pool, BlockNumber block, double sales_rate) {
  const std::uint32_t index = find_or_add_boundary(block);
  PoolChange& change = boundaries_[index].changes[pool];
  ++change.starting_orders;
  if (block <= last_virtual_order_block_) {
    // Starts now: nothing has been executed past this block.
    pools_[pool].sales_rate.add(sales_rate);
    ++pools_[pool].selling_orders;
  } else {
    change.sales_rate_change.add(sales_rate);
    ++pending_orders_;
  }
  return index;
}

std::uint32_t Twamm::attach_expiry(int pool, BlockNumber block, double sales_rate) {
  const std::uint32_t index = find_or_add_boundary(block);
  PoolChange& change = boundaries_[index].changes[pool];
  ++change.ending_orders;
  change.sales_rate_change.add(-sales_rate);
  return index;
}

void Twamm::detach_order(std::uint32_t order_id) {
  const LongTermOrder& order = orders_[order_id];
  const OrderAccount& account = accounts_[order_id];
  const int index = pool_index(order);
  auto clear_if_unused = [](PoolChange& change) {
    if (change.starting_orders == 0 && change.ending_orders == 0)
      change.sales_rate_change = CompensatedSum{};
  };
  if (has_started(order)) {
    OrderPool& pool = pools_[index];
    pool.sales_rate.add(-order.sales_rate);
    if (--pool.selling_orders == 0) pool.sales_rate = CompensatedSum{};
  } else {
    PoolChange& start = boundaries_[account.start_boundary].changes[index];
    start.sales_rate_change.add(-order.sales_rate);
    --start.starting_orders;
    clear_if_unused(start);
    --pending_orders_;
  }
  PoolChange& expiry = boundaries_[account.expiry_boundary].changes[index];
  expiry.sales_rate_change.add(order.sales_rate);
  --expiry.ending_orders;
  clear_if_unused(expiry);
}

// ---------------------------------------------------------------- orders ---

LongTermOrderResult Twamm::place_order(core::AgentIndex owner, core::AssetIndex token_in,
                                       double amount_in, std::uint64_t duration_blocks,
                                       BlockNumber current_block) {
  LongTermOrderResult result;
  result.token_in = token_in;
  if (!pool_.trades(token_in)) {
    result.revert_reason = RevertReason::invalid_token;
    return result;
  }
  const int index = pool_index_of(token_in == pool_.asset_x());
  // The market's holdings of the token must stay finite (whatever is sold
  // later moves within them).
  if (!is_positive_finite(amount_in) || duration_blocks == 0 ||
      !std::isfinite(holdings_of(token_in) + amount_in)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  const BlockNumber now = std::max(current_block, last_virtual_order_block_);
  const OrderSchedule schedule = schedule_order(now, duration_blocks);
  const double sales_rate =
      schedule.valid ? amount_in / static_cast<double>(schedule.expiry_block - schedule.start_block)
                     : 0.0;
  // A rate that underflows to zero would never sell the input.
  if (!schedule.valid || !is_positive_finite(sales_rate)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  if (orders_.size() >= max_orders_) {
    result.revert_reason = RevertReason::unsupported;
    return result;
  }
  execute_virtual_orders(now);

  const auto order_id = static_cast<std::uint32_t>(orders_.size());
  OrderAccount account;
  account.start_boundary = attach_start(index, schedule.start_block, sales_rate);
  account.expiry_boundary = attach_expiry(index, schedule.expiry_block, sales_rate);
  LongTermOrder order;
  order.owner = owner;
  order.token_in = token_in;
  order.token_out = token_in == pool_.asset_x() ? pool_.asset_y() : pool_.asset_x();
  order.amount_in = amount_in;
  order.sales_rate = sales_rate;
  order.start_block = schedule.start_block;
  order.expiry_block = schedule.expiry_block;
  orders_.push_back(order);
  accounts_.push_back(account);
  pools_[index].unsold += amount_in;
  ++pools_[index].open_orders;

  result.order_id = order_id;
  result.amount_in = amount_in;
  result.start_block = schedule.start_block;
  result.expiry_block = schedule.expiry_block;
  result.sales_rate = sales_rate;
  return result;
}

bool Twamm::owns(core::AgentIndex owner, std::uint32_t order_id) const {
  return order_id < orders_.size() && orders_[order_id].owner == owner;
}

OrderSettlement Twamm::settlement_of(core::AgentIndex owner, std::uint32_t order_id) const {
  OrderSettlement result;
  result.order_id = order_id;
  if (!owns(owner, order_id)) {
    result.revert_reason = RevertReason::not_owner;
    return result;
  }
  result.refund_token = orders_[order_id].token_in;
  result.proceeds_token = orders_[order_id].token_out;
  return result;
}

OrderSettlement Twamm::cancel_order(core::AgentIndex owner, std::uint32_t order_id) {
  OrderSettlement result = settlement_of(owner, order_id);
  if (!result.succeeded()) return result;
  const LongTermOrder& order = orders_[order_id];
  if (order.status != OrderStatus::open || has_expired(order)) {
    result.revert_reason = RevertReason::unsupported;
    return result;
  }
  const double refund = unsold_of(order_id);
  const double proceeds = proceeds_of(order_id);
  detach_order(order_id);
  orders_[order_id].status = OrderStatus::cancelled;
  return settle(order_id, refund, proceeds, true);
}

OrderSettlement Twamm::withdraw_proceeds(core::AgentIndex owner, std::uint32_t order_id) {
  OrderSettlement result = settlement_of(owner, order_id);
  if (!result.succeeded()) return result;
  const LongTermOrder& order = orders_[order_id];
  const bool expired = has_expired(order);
  const double proceeds = proceeds_of(order_id);
  // An expired order may always be closed (even with nothing earned, e.g.
  // while the embedded pool was empty); a running one only pays something.
  if (order.status != OrderStatus::open || (!expired && !(proceeds > 0.0))) {
    result.revert_reason = RevertReason::unsupported;
    return result;
  }
  if (expired) {
    orders_[order_id].status = OrderStatus::finished;
  } else {
    accounts_[order_id].has_withdrawn = true;
    accounts_[order_id].reward_factor_withdrawn = pools_[pool_index(order)].reward_factor;
  }
  return settle(order_id, 0.0, proceeds, expired);
}

OrderSettlement Twamm::settle(std::uint32_t order_id, double refund, double proceeds, bool closes) {
  LongTermOrder& order = orders_[order_id];
  OrderPool& pool = pools_[pool_index(order)];
  // Per-order claims are rate * (difference of accumulators): they can
  // exceed the pooled amounts by rounding, never by more. The pool pays
  // at most what it holds.
  double refund_paid = std::min(refund, pool.unsold);
  double proceeds_paid = std::min(proceeds, pool.proceeds);
  pool.unsold -= refund_paid;
  pool.proceeds -= proceeds_paid;
  if (closes && --pool.open_orders == 0) {
    // The last claim on this order pool: what rounding left belongs to no
    // one else (as burning every LP share pays the reserves exactly).
    refund_paid += pool.unsold;
    proceeds_paid += pool.proceeds;
    pool.unsold = 0.0;
    pool.proceeds = 0.0;
  }
  order.refund_paid += refund_paid;
  order.proceeds_paid += proceeds_paid;

  OrderSettlement result;
  result.order_id = order_id;
  result.refund_token = order.token_in;
  result.refund_amount = refund_paid;
  result.proceeds_token = order.token_out;
  result.proceeds_amount = proceeds_paid;
  result.order_closed = closes;
  return result;
}

double Twamm::proceeds_of(std::uint32_t order_id) const {
  if (order_id >= orders_.size()) return 0.0;
  const LongTermOrder& order = orders_[order_id];
  if (order.status != OrderStatus::open || !has_started(order)) return 0.0;
  const OrderAccount& account = accounts_[order_id];
  const int index = pool_index(order);
  const double from = account.has_withdrawn
                          ? account.reward_factor_withdrawn
                          : boundaries_[account.start_boundary].changes[index].reward_factor;
  const double to = has_expired(order)
                        ? boundaries_[account.expiry_boundary].changes[index].reward_factor
                        : pools_[index].reward_factor;
  return std::clamp(order.sales_rate * (to - from), 0.0, pools_[index].proceeds);
}

double Twamm::unsold_of(std::uint32_t order_id) const {
  if (order_id >= orders_.size()) return 0.0;
  const LongTermOrder& order = orders_[order_id];
  if (order.status != OrderStatus::open || has_expired(order)) return 0.0;
  // Fraxswap's (expiry - now) * salesRate once selling; the whole amount before.
  const double unsold =
      has_started(order)
          ? order.sales_rate * static_cast<double>(order.expiry_block - last_virtual_order_block_)
          : order.amount_in;
  return std::min(unsold, pools_[pool_index(order)].unsold);
}

// ------------------------------------------------------------- holdings ----

double Twamm::holdings_of(core::AssetIndex asset) const {
  if (asset == pool_.asset_x()) {
    return pool_.reserve_x() + pools_[sells_x].unsold + pools_[sells_y].proceeds;
  }
  if (asset == pool_.asset_y()) {
    return pool_.reserve_y() + pools_[sells_y].unsold + pools_[sells_x].proceeds;
  }
  return 0.0;
}

double Twamm::pooled_unsold(core::AssetIndex token_in) const {
  if (!pool_.trades(token_in)) return 0.0;
  return pools_[pool_index_of(token_in == pool_.asset_x())].unsold;
}

double Twamm::pooled_proceeds(core::AssetIndex token_in) const {
  if (!pool_.trades(token_in)) return 0.0;
  return pools_[pool_index_of(token_in == pool_.asset_x())].proceeds;
}

}  // namespace defisim::markets
