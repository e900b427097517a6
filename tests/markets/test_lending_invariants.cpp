// Invariants of the lending market (markets/lending.hpp) over random
// operation sequences: the accounting identity, token conservation, reverts
// that change nothing, no allocation after construction, and the
// liquidation index (positions_below) against brute force.
//
// Sources: the header's accounting identity, as Compound v2's CToken
// (exchangeRate = (cash + totalBorrows - totalReserves) / totalSupply):
//   cash + total_debt + auction debt == total_supply + reserves,
// and its token flows: supply and repay bring tokens in; withdraw and borrow
// take them out; a liquidation brings debt_repaid in and pays
// collateral_seized out; a take brings debt_paid in and pays
// collateral_bought out. holdings_of must equal the genesis supply plus
// what came in minus what went out.
//
// Tolerances: every quantity is a sum of a few hundred rounded operations on
// amounts up to the pool's scale S (initial supply x 10): the gaps observed
// are ~1e-15 S; 1e-11 S bounds them with a wide margin while still catching
// any real leak (a missed flow is at least ~1e-6 S here).
#include <catch2/catch.hpp>

#include <algorithm>
#include <malloc.h>
#include <random>
#include <set>
#include <vector>

#include "tests/markets/test_lending_support.hpp"

using namespace lending_test;

namespace {

constexpr AssetIndex gov = 4;  // listed, borrowable, worthless as collateral (threshold 0)

LendingParams random_run_params(LendingRules rules) {
  LendingParams params;
  params.rules = rules;
  InterestRateCurve curve;  // kinked: 0 + 4% to the kink at 80%, +75% above
  if (rules == LendingRules::maker) {
    LendingAssetParams ether = asset_params(eth, 0.0, 1.0 / 1.5, 1.0 / 1.5, 0.13);
    LendingAssetParams bitcoin = asset_params(wbtc, 0.0, 1.0 / 1.3, 1.0 / 1.3, 0.13);
    ether.borrowable = false;
    bitcoin.borrowable = false;
    params.assets = {ether, bitcoin, asset_params(usdc, 2'000'000.0, 0.0, 0.0, 0.0, curve, 0.1)};
    params.auction.tail_seconds = 3 * 3600.0;
    params.auction.reset = true;
  } else {
    params.assets = {asset_params(eth, 1000.0, 0.8, 0.825, 0.05, curve, 0.15),
                     asset_params(usdc, 2'000'000.0, 0.8, 0.85, 0.05, curve, 0.1),
                     asset_params(wbtc, 50.0, 0.7, 0.75, 0.1, curve, 0.2)};
    if (rules == LendingRules::compound_v2) {
      for (LendingAssetParams& asset : params.assets) asset.loan_to_value = asset.liquidation_threshold;
    }
  }
  params.liquidation_protocol_fee = 0.1;
  params.max_positions = 120;
  params.max_auctions = 400;
  return params;
}

struct Digest {
  std::vector<double> values;
  bool operator==(const Digest&) const = default;
};

Digest digest(const Lending& market, double now) {
  Digest result;
  for (std::size_t slot = 0; slot < market.asset_count(); ++slot) {
    const AssetIndex asset = market.asset(slot);
    result.values.insert(result.values.end(),
                         {market.cash(asset), market.total_debt(asset, now), market.total_supply(asset, now),
                          market.reserves(asset, now), market.holdings_of(asset), market.bad_debt(asset),
                          market.supplier_loss(asset), market.auction_debt(asset), market.protocol_collateral(asset),
                          market.borrow_index(asset, now), market.supply_index(asset, now)});
    for (PositionId position = 0; position < market.position_count(); ++position) {
      result.values.push_back(market.collateral(position, asset, now));
      result.values.push_back(market.debt(position, asset, now));
    }
  }
  for (std::size_t id = 0; id < market.auction_count(); ++id) {
    const Auction& auction = market.auction(static_cast<defisim::markets::AuctionId>(id));
    result.values.insert(result.values.end(), {auction.lot, auction.tab, auction.debt_owed, auction.top,
                                               auction.started_seconds, auction.active ? 1.0 : 0.0});
  }
  result.values.push_back(static_cast<double>(market.position_count()));
  result.values.push_back(static_cast<double>(market.active_auctions()));
  return result;
}

struct RunCounts {
  int liquidations = 0;
  int write_offs = 0;
  int auctions = 0;
  int takes = 0;
  int resets = 0;
  int reverts = 0;
};

// Hundreds of random operations; after each, the identity and conservation
// hold, and every revert left the digest unchanged.
RunCounts random_run(LendingRules rules, std::uint64_t seed) {
  const LendingParams params = random_run_params(rules);
  Lending market(params, venue);
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  Ledger ledger;
  std::array<double, 6> scale{};
  for (const LendingAssetParams& asset : params.assets) scale[asset.asset] = 10.0 * std::max(asset.initial_supply, 100.0);
  std::vector<double> prices = prices_at(2000.0, 1.0, 30'000.0);
  std::vector<AssetIndex> collaterals;
  std::vector<AssetIndex> borrowables;
  for (const LendingAssetParams& asset : params.assets) {
    if (asset.liquidation_threshold > 0.0) collaterals.push_back(asset.asset);
    if (asset.borrowable) borrowables.push_back(asset.asset);
  }
  const auto pick = [&](const std::vector<AssetIndex>& from) { return from[random() % from.size()]; };
  double now = 0.0;
  RunCounts counts;
  std::vector<PositionId> below(params.max_positions);

  for (int step = 0; step < 800; ++step) {
    const Digest before = digest(market, now);
    const auto position = static_cast<PositionId>(random() % market.position_count());
    bool reverted = false;
    const int kind = static_cast<int>(random() % 10);
    if (kind == 0) {
      // Time and prices move (occasionally a crash), stale auctions reset.
      now += 3600.0 * 24.0 * unit(random);
      prices[eth] *= std::exp(0.1 * normal(random) - (unit(random) < 0.1 ? 0.4 : 0.0));
      prices[wbtc] *= std::exp(0.1 * normal(random) - (unit(random) < 0.1 ? 0.4 : 0.0));
      if (market.reset_stale_auctions(prices, now) > 0.0) ++counts.write_offs;
      counts.resets += 1;
    } else if (kind == 1) {
      if (market.position_count() < params.max_positions) {
        reverted = !market.open_position(alice).succeeded();
      }
    } else if (kind == 2) {
      const AssetIndex asset = rules == LendingRules::maker && position != 0
                                   ? collaterals[position % collaterals.size()]
                                   : market.asset(random() % market.asset_count());
      const double amount = scale[asset] * 0.01 * unit(random);
      const LendingResult result = market.supply(position, asset, amount, now);
      if (result.succeeded()) ledger.in[asset] += result.amount;
      reverted = !result.succeeded();
    } else if (kind == 3) {
      const AssetIndex asset = market.asset(random() % market.asset_count());
      const double amount = unit(random) < 0.3 ? inf : market.collateral(position, asset, now) * unit(random);
      const LendingResult result = market.withdraw(position, asset, amount, prices, now);
      if (result.succeeded()) ledger.out[asset] += result.amount;
      reverted = !result.succeeded();
    } else if (kind == 4 || kind == 5) {
      const AssetIndex asset = pick(borrowables);
      const double headroom = market.borrowing_headroom(position, prices, now);
      const double amount = std::max(headroom, 0.0) / prices[asset] * (0.2 + 0.85 * unit(random));
      const LendingResult result = market.borrow(position, asset, amount, prices, now);
      if (result.succeeded()) ledger.out[asset] += result.amount;
      reverted = !result.succeeded();
    } else if (kind == 6) {
      const AssetIndex asset = pick(borrowables);
      const double amount = unit(random) < 0.3 ? inf : market.debt(position, asset, now) * unit(random);
      const LendingResult result = market.repay(position, asset, amount, now);
      if (result.succeeded()) ledger.in[asset] += result.amount;
      reverted = !result.succeeded();
    } else if (kind == 7 || kind == 8) {
      const std::size_t found = market.positions_below(1.0, prices, now, below);
      const PositionId target = found > 0 ? below[random() % found] : position;
      const AssetIndex debt_asset = pick(borrowables);
      const AssetIndex collateral_asset = pick(collaterals);
      const double close = params.close_factor * market.debt(target, debt_asset, now);
      const double repay = rules == LendingRules::compound_v2 ? close * unit(random)
                           : unit(random) < 0.5                ? inf
                                                               : close * unit(random);
      const LiquidationResult result = market.liquidate(target, debt_asset, collateral_asset, repay, prices, now);
      if (result.succeeded()) {
        ++counts.liquidations;
        if (rules == LendingRules::maker && result.bad_debt_written_off == 0.0) ++counts.auctions;
        if (result.bad_debt_written_off > 0.0) ++counts.write_offs;
        ledger.in[debt_asset] += result.debt_repaid;
        ledger.out[collateral_asset] += result.collateral_seized;
      }
      reverted = !result.succeeded();
    } else if (market.active_auctions() > 0) {
      const auto id = static_cast<defisim::markets::AuctionId>(random() % market.auction_count());
      const Auction& auction = market.auction(id);
      const double max_collateral = unit(random) < 0.5 ? inf : auction.lot * unit(random);
      const TakeResult result = market.take(id, max_collateral, inf, prices, now);
      if (result.succeeded()) {
        ++counts.takes;
        if (result.bad_debt_written_off > 0.0) ++counts.write_offs;
        ledger.in[auction.debt_asset] += result.debt_paid;
        ledger.out[auction.collateral_asset] += result.collateral_bought;
      }
      reverted = !result.succeeded();
    }
    if (reverted) {
      ++counts.reverts;
      REQUIRE(digest(market, now) == before);
    }
    for (const LendingAssetParams& asset : params.assets) {
      const AssetIndex a = asset.asset;
      INFO("step " << step << " asset " << a);
      REQUIRE(std::abs(identity_gap(market, a, now)) <= 1e-11 * scale[a]);
      REQUIRE(std::abs(market.holdings_of(a) - (asset.initial_supply + ledger.net(a))) <= 1e-11 * scale[a]);
      REQUIRE(market.cash(a) >= 0.0);
      REQUIRE(market.reserves(a, now) >= 0.0);
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("lending: accounting identity and token conservation over random operations", "[lending]") {
  const LendingRules rule_sets[] = {LendingRules::aave_v2, LendingRules::aave_v3, LendingRules::compound_v2,
                                    LendingRules::maker};
  for (const LendingRules rules : rule_sets) {
    RunCounts total;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      INFO("rules " << static_cast<int>(rules) << " seed " << seed);
      const RunCounts counts = random_run(rules, seed * 7919 + static_cast<std::uint64_t>(rules));
      total.liquidations += counts.liquidations;
      total.write_offs += counts.write_offs;
      total.auctions += counts.auctions;
      total.takes += counts.takes;
      total.reverts += counts.reverts;
    }
    // The sequences reach what they are meant to test (summed over the
    // seeds, so one calm price path does not matter).
    INFO("rules " << static_cast<int>(rules));
    CHECK(total.liquidations > 20);
    CHECK(total.reverts > 40);
    // Crashes of 40% leave positions underwater: write-offs happen. Not
    // under compound_v2, whose seizure never empties a position in these
    // runs (a seizure beyond the collateral reverts); its write-off is
    // tested in test_lending_liquidation.cpp.
    if (rules != LendingRules::compound_v2) CHECK(total.write_offs > 0);
    if (rules == LendingRules::maker) {
      CHECK(total.auctions > 5);
      CHECK(total.takes > 5);
    }
  }
}

TEST_CASE("lending: operations do not allocate after construction", "[lending]") {
  // glibc's bytes in use (mallinfo2().uordblks) and mmapped bytes stay the
  // same over thousands of operations: no storage grows. (A temporary
  // allocation freed within a call would not show here; the code has none:
  // no containers or strings are created outside the constructor.)
  LendingParams params = random_run_params(LendingRules::aave_v3);
  params.max_positions = 2000;
  Lending market(params, venue);
  const std::vector<double> prices = prices_at(2000.0, 1.0, 30'000.0);
  std::vector<double> crash = prices_at(900.0, 1.0, 30'000.0);
  std::vector<PositionId> out(2000);
  int failures = 0;
  const struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < 1500; ++i) {
    const PositionId position = market.open_position(alice).position;
    failures += !market.supply(position, eth, 1.0, i * 12.0).succeeded();
    failures += !market.borrow(position, usdc, 1000.0 + i % 500, prices, i * 12.0).succeeded();
    if (i % 3 == 0) failures += !market.repay(position, usdc, 100.0, i * 12.0).succeeded();
  }
  const std::size_t found = market.positions_below(1.0, crash, 20'000.0, out);
  for (std::size_t k = 0; k < found; ++k) {
    failures += !market.liquidate(out[k], usdc, eth, inf, crash, 20'000.0).succeeded();
  }
  const struct mallinfo2 after = mallinfo2();
  CHECK(failures == 0);
  CHECK(found > 1000);
  CHECK(after.uordblks == before.uordblks);
  CHECK(after.hblkhd == before.hblkhd);
  // A copy (an engine's saved state) keeps the reserved capacity: it does
  // not allocate afterwards either.
  Lending copy = market;
  const struct mallinfo2 copy_before = mallinfo2();
  for (int i = 0; i < 300; ++i) {
    const PositionId position = copy.open_position(bob).position;
    failures += !copy.supply(position, wbtc, 0.1, 30'000.0).succeeded();
    failures += !copy.borrow(position, usdc, 1000.0, prices, 30'000.0).succeeded();
  }
  const struct mallinfo2 copy_after = mallinfo2();
  CHECK(failures == 0);
  CHECK(copy_after.uordblks == copy_before.uordblks);
  CHECK(copy_after.hblkhd == copy_before.hblkhd);
}

TEST_CASE("lending: positions_below equals brute force over random populations", "[lending]") {
  // Positions of every shape: one collateral and one debt (indexed per pair,
  // including a debt in the collateral's own asset), several collaterals or
  // debts, debt against worthless (threshold 0) collateral only, no debt.
  // Then changes, interest over time and price moves; at each check the
  // result must be exactly {p : health_factor(p) < bound}, each once.
  for (const std::uint32_t max_positions : {300u, 1500u}) {
    LendingParams params;
    params.rules = LendingRules::aave_v2;
    InterestRateCurve curve;
    params.assets = {asset_params(eth, 10'000.0, 0.8, 0.825, 0.05, curve),
                     asset_params(usdc, 50'000'000.0, 0.8, 0.85, 0.05, curve),
                     asset_params(wbtc, 1'000.0, 0.7, 0.75, 0.1, curve), asset_params(gov, 1'000'000.0, 0.0, 0.0, 0.0, curve)};
    params.max_positions = max_positions;
    Lending market(params, venue);
    std::mt19937_64 random(max_positions);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> prices = prices_at(2000.0, 1.0, 30'000.0);
    prices[gov] = 5.0;
    const AssetIndex assets[] = {eth, usdc, wbtc, gov};
    double now = 0.0;
    std::vector<PositionId> out(max_positions);
    std::size_t indexed_checks = 0;

    const auto check_against_brute_force = [&]() {
      for (const double bound : {0.3, 0.9, 1.0, 1.02, 1.1, 1.5, 3.0, inf}) {
        std::set<PositionId> expected;
        for (PositionId position = 0; position < market.position_count(); ++position) {
          if (market.health_factor(position, prices, now) < bound) expected.insert(position);
        }
        const std::size_t found = market.positions_below(bound, prices, now, out);
        if (bound == inf) indexed_checks += expected.size();
        const std::set<PositionId> got(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(found));
        INFO("bound " << bound << " at " << now);
        REQUIRE(got.size() == found);  // each once
        REQUIRE(got == expected);
        // A short output span is filled with members of the set only.
        if (expected.size() > 3) {
          std::array<PositionId, 3> few{};
          REQUIRE(market.positions_below(bound, prices, now, few) == 3);
          for (const PositionId position : few) REQUIRE(expected.count(position) == 1);
        }
      }
    };

    const auto random_change = [&](PositionId position) {
      const AssetIndex asset = assets[random() % 4];
      switch (random() % 5) {
        case 0:
          market.supply(position, asset, unit(random) * 20'000.0 / prices[asset], now);
          break;
        case 1:
          market.withdraw(position, asset, unit(random) < 0.2 ? inf : market.collateral(position, asset, now) * unit(random),
                          prices, now);
          break;
        case 2:
        case 3:
          market.borrow(position, asset,
                        std::max(0.0, market.borrowing_headroom(position, prices, now)) * unit(random) / prices[asset],
                        prices, now);
          break;
        default:
          market.repay(position, asset, unit(random) < 0.2 ? inf : market.debt(position, asset, now) * unit(random), now);
      }
    };

    while (market.position_count() < max_positions) {
      const PositionId position = market.open_position(alice).position;
      const int shape = static_cast<int>(random() % 6);
      const AssetIndex collateral = shape == 5 ? gov : assets[random() % 3];
      market.supply(position, collateral, (1000.0 + 50'000.0 * unit(random)) / prices[collateral], now);
      if (shape == 1) market.supply(position, assets[random() % 3], 20'000.0 * unit(random) / prices[eth], now);
      if (shape == 4) continue;  // no debt
      const AssetIndex borrowed = assets[random() % 4];
      const double headroom = std::max(0.0, market.borrowing_headroom(position, prices, now));
      market.borrow(position, borrowed, headroom * (0.3 + 0.69 * unit(random)) / prices[borrowed], prices, now);
      if (shape == 2) {
        const AssetIndex second = assets[random() % 4];
        market.borrow(position, second, std::max(0.0, market.borrowing_headroom(position, prices, now)) * 0.5 / prices[second],
                      prices, now);
      }
      if (shape == 5) {
        // Debt against worthless collateral only: give it some ETH, borrow,
        // take the ETH back out? Not allowed; instead borrow on ETH then let
        // a crash make it worthless below.
        market.supply(position, eth, 1.0, now);
        market.borrow(position, usdc, 1000.0, prices, now);
      }
      if (position % 97 == 0) check_against_brute_force();
    }
    check_against_brute_force();
    for (int round = 0; round < 12; ++round) {
      now += 30.0 * 24.0 * 3600.0 * unit(random);
      prices[eth] *= std::exp(0.25 * (unit(random) - 0.6));
      prices[wbtc] *= std::exp(0.25 * (unit(random) - 0.6));
      for (int change = 0; change < 150; ++change) {
        random_change(static_cast<PositionId>(1 + random() % (market.position_count() - 1)));
      }
      // Some liquidations (write-offs move supply indices, which the index
      // reads at query time).
      const std::size_t found = market.positions_below(1.0, prices, now, out);
      for (std::size_t k = 0; k < std::min<std::size_t>(found, 20); ++k) {
        market.liquidate(out[k], usdc, eth, inf, prices, now);
      }
      check_against_brute_force();
    }
    // Then few changes at a time while prices drift a long way: positions
    // with several collaterals or debts are found through a snapshot of
    // their health and the worst price-and-index move since (lending.hpp),
    // so this covers a snapshot that stays valid across many queries, the
    // positions changed since it, and its rebuild once the move halves.
    for (int round = 0; round < 40; ++round) {
      now += 3600.0 * unit(random);
      prices[eth] *= std::exp(0.1 * (unit(random) - 0.7));
      prices[wbtc] *= std::exp(0.1 * (unit(random) - 0.3));
      prices[gov] *= std::exp(0.1 * (unit(random) - 0.5));
      for (int change = 0; change < 5; ++change) {
        random_change(static_cast<PositionId>(1 + random() % (market.position_count() - 1)));
      }
      check_against_brute_force();
    }
    // Most positions borrow: the checks covered thousands of them.
    CHECK(indexed_checks > 5 * max_positions);
  }
}
