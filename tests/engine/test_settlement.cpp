// Settlement of single transactions: who pays what, for both funding models,
// and what an invalid transaction costs. Expected values are worked by hand
// from the Uniswap v2 formula (Adams, Zinsmeister, Robinson 2020, eq. 2,
// fee on input): out = R_out (1 - f) in / (R_in + (1 - f) in).
#include <catch2/catch.hpp>

#include <vector>

#include "framework/engine/settlement.hpp"

namespace {

using defisim::core::Funding;
using defisim::core::RevertReason;
using defisim::core::Transaction;
using defisim::core::TransactionKind;
using defisim::engine::Ledger;
using defisim::engine::SettlementContext;

constexpr defisim::core::AssetIndex eth = 0;
constexpr defisim::core::AssetIndex usdc = 1;
constexpr defisim::core::AgentIndex trader = 0;
constexpr defisim::core::AgentIndex builder = 1;

struct Setup {
  std::vector<defisim::markets::Market> markets;
  Ledger ledger{2, 2, 1};
  std::vector<double> prices{2000.0, 1.0};  // numeraire (USDC) per token
  SettlementContext context;
  Setup() {
    markets.emplace_back(defisim::markets::Cpmm({eth, usdc, 1000.0, 2'000'000.0, 0.003}));
    context.reference_prices = prices;
    context.native_asset = eth;
    context.numeraire = usdc;
    context.builder_account = builder;
    context.base_gas_price_gwei = 20.0;
  }
  Transaction swap(Funding funding, defisim::core::AssetIndex token_in, double amount_in) const {
    Transaction transaction;
    transaction.sender = trader;
    transaction.market = 0;
    transaction.kind = TransactionKind::swap;
    transaction.funding = funding;
    transaction.token_in = token_in;
    transaction.amount_in = amount_in;
    transaction.gas_used = 100000;
    return transaction;
  }
};

// 100,000 gas x 20 gwei = 2e6 gwei = 0.002 ETH, worth 4 USDC at 2000.
constexpr double gas_eth = 0.002;
constexpr double gas_usdc = 4.0;

}  // namespace

TEST_CASE("wallet swap: input and gas leave the wallet, output arrives, gas goes to the builder") {
  Setup setup;
  setup.ledger.balance(trader, eth) = 10.0 + gas_eth;
  const auto receipt = defisim::engine::execute(setup.swap(Funding::wallet, eth, 10.0), setup.markets,
                                                setup.ledger, setup.context);
  // out = 2e6 * 0.997 * 10 / (1000 + 9.97) = 19,743.16...
  const double out = 2'000'000.0 * 0.997 * 10.0 / (1000.0 + 0.997 * 10.0);
  REQUIRE(receipt.succeeded());
  CHECK(receipt.included);
  CHECK(receipt.amount_out == Approx(out).epsilon(1e-14));  // a few roundings
  CHECK(setup.ledger.balance(trader, eth) == Approx(0.0).margin(1e-15));
  CHECK(setup.ledger.balance(trader, usdc) == Approx(out).epsilon(1e-14));
  CHECK(setup.ledger.balance(builder, eth) == Approx(gas_eth).epsilon(1e-15));
}

TEST_CASE("wallet swap the wallet cannot pay is not included and costs nothing") {
  Setup setup;
  setup.ledger.balance(trader, eth) = 10.0;  // the input, but not the gas on top
  const auto receipt = defisim::engine::execute(setup.swap(Funding::wallet, eth, 10.0), setup.markets,
                                                setup.ledger, setup.context);
  CHECK(receipt.revert_reason == RevertReason::insufficient_balance);
  CHECK_FALSE(receipt.included);
  CHECK(receipt.gas_paid_native == 0.0);
  CHECK(setup.ledger.balance(trader, eth) == 10.0);
  CHECK(setup.ledger.balance(builder, eth) == 0.0);
}

TEST_CASE("an invalid wallet transaction pays gas if it can, and is not included if it cannot") {
  Setup setup;
  auto transaction = setup.swap(Funding::wallet, usdc, -5.0);  // a negative amount
  SECTION("no ETH for gas: not included, no balance goes negative") {
    const auto receipt = defisim::engine::execute(transaction, setup.markets, setup.ledger, setup.context);
    CHECK(receipt.revert_reason == RevertReason::insufficient_balance);
    CHECK_FALSE(receipt.included);
    CHECK(setup.ledger.balance(trader, eth) == 0.0);
  }
  SECTION("ETH for gas: included, reverts invalid_amount, the builder gets the gas") {
    setup.ledger.balance(trader, eth) = 1.0;
    const auto receipt = defisim::engine::execute(transaction, setup.markets, setup.ledger, setup.context);
    CHECK(receipt.revert_reason == RevertReason::invalid_amount);
    CHECK(receipt.included);
    CHECK(setup.ledger.balance(trader, eth) == Approx(1.0 - gas_eth).epsilon(1e-15));
    CHECK(setup.ledger.balance(builder, eth) == Approx(gas_eth).epsilon(1e-15));
    const auto& pool = std::get<defisim::markets::Cpmm>(setup.markets[0]);
    CHECK(pool.reserve_x() == 1000.0);
    CHECK(pool.reserve_y() == 2'000'000.0);
  }
}

TEST_CASE("venue-funded swap: the sender is paid the difference at reference prices, less gas") {
  Setup setup;
  const auto receipt = defisim::engine::execute(setup.swap(Funding::reference_venue, eth, 10.0), setup.markets,
                                                setup.ledger, setup.context);
  const double out = 2'000'000.0 * 0.997 * 10.0 / (1000.0 + 0.997 * 10.0);
  // Value received minus value paid at reference: out * 1 - 10 * 2000, then gas of 4 USDC.
  const double expected = out - 10.0 * 2000.0 - gas_usdc;
  REQUIRE(receipt.succeeded());
  CHECK(receipt.venue_settlement == Approx(expected).epsilon(1e-12));
  CHECK(setup.ledger.balance(trader, usdc) == Approx(expected).epsilon(1e-12));
  CHECK(setup.ledger.balance(trader, eth) == 0.0);  // no tokens stay with the sender
  // The venue: gave 10 ETH to the pool and 0.002 ETH of gas; got the USDC output,
  // paid the settlement, was paid for the gas.
  CHECK(setup.ledger.venue(eth) == Approx(-10.0 - gas_eth).epsilon(1e-15));
  CHECK(setup.ledger.venue(usdc) == Approx(out - (out - 10.0 * 2000.0) + gas_usdc).epsilon(1e-12));
}

TEST_CASE("liquidity cannot be moved through the reference venue") {
  Setup setup;
  auto transaction = setup.swap(Funding::reference_venue, eth, 1.0);
  transaction.kind = TransactionKind::add_liquidity;
  transaction.amount_other = 2000.0;
  const auto receipt = defisim::engine::execute(transaction, setup.markets, setup.ledger, setup.context);
  CHECK(receipt.revert_reason == RevertReason::unsupported);
  CHECK_FALSE(receipt.included);
}
