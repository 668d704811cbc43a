// The pgoutput decoder on byte fixtures captured from a real server
// (fixtures/capture.sh), and on malformed input.
#include "replication/changes.hpp"
#include "replication/pgoutput.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace stocksync::worker;
using namespace stocksync::worker::pgoutput;

namespace {

std::string fixture(int n) {
  std::ifstream in(std::string(WORKER_FIXTURES_DIR) + "/pgoutput_" + std::to_string(n) + ".bin", std::ios::binary);
  EXPECT_TRUE(in) << "fixture " << n;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ManifestLine {
  int n;
  std::string lsn;
  char tag;
};

std::vector<ManifestLine> manifest() {
  std::ifstream in(std::string(WORKER_FIXTURES_DIR) + "/pgoutput.manifest");
  std::vector<ManifestLine> out;
  ManifestLine l;
  while (in >> l.n >> l.lsn >> l.tag)
    out.push_back(l);
  return out;
}

}  // namespace

TEST(WorkerPgoutput, EveryFixtureDecodesToItsTag) {
  auto lines = manifest();
  ASSERT_GE(lines.size(), 30u);
  for (const auto &l : lines) {
    std::string bytes = fixture(l.n);
    auto r = decode(bytes);
    ASSERT_TRUE(r.ok()) << "fixture " << l.n << ": " << r.error;
    const char tags[] = "BCORYIUDTM";
    EXPECT_EQ(tags[r.message->index()], l.tag) << "fixture " << l.n;
  }
}

TEST(WorkerPgoutput, BeginAndCommitCarryLsnsFromTheServer) {
  auto b = decode(fixture(0));
  ASSERT_TRUE(b.ok());
  auto &begin = std::get<Begin>(*b.message);
  auto c = decode(fixture(4));
  ASSERT_TRUE(c.ok());
  auto &commit = std::get<Commit>(*c.message);
  EXPECT_EQ(begin.final_lsn, commit.commit_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(begin.commit_ts, commit.commit_ts);
  EXPECT_NE(begin.xid, 0u);
  // The manifest's LSN of the commit message is the commit's end.
  EXPECT_EQ(format_lsn(commit.end_lsn), manifest()[4].lsn);
  // A commit timestamp after 2025 and before 2100.
  EXPECT_GT(to_unix_micros(commit.commit_ts), 1735689600LL * 1000000);
  EXPECT_LT(to_unix_micros(commit.commit_ts), 4102444800LL * 1000000);
}

TEST(WorkerPgoutput, RelationDescribesItemColumns) {
  auto r = decode(fixture(1));
  ASSERT_TRUE(r.ok());
  auto &rel = std::get<Relation>(*r.message);
  EXPECT_EQ(rel.nspname, "stocksync");
  EXPECT_EQ(rel.relname, "item");
  EXPECT_EQ(rel.replica_identity, 'd');
  ASSERT_EQ(rel.columns.size(), 5u);
  EXPECT_EQ(rel.columns[0].name, "sku");
  EXPECT_EQ(rel.columns[0].flags, 1);  // key column
  EXPECT_EQ(rel.columns[0].type_oid, 25u);  // text
  EXPECT_EQ(rel.columns[3].name, "title");
}

TEST(WorkerPgoutput, InsertCarriesTextAndNullValues) {
  RelationCache cache;
  cache.put(std::get<Relation>(*decode(fixture(1)).message));
  auto i1 = std::get<Insert>(*decode(fixture(2)).message);
  EXPECT_EQ(cache.text(i1.relation, i1.new_tuple, "sku"), "SKU-1");
  EXPECT_EQ(cache.text(i1.relation, i1.new_tuple, "title"), "T-shirt");
  auto i2 = std::get<Insert>(*decode(fixture(3)).message);
  EXPECT_EQ(cache.text(i2.relation, i2.new_tuple, "sku"), "SKU-2");
  EXPECT_EQ(i2.new_tuple.values[3].kind, Value::Kind::null);
  EXPECT_EQ(cache.text(i2.relation, i2.new_tuple, "title"), std::nullopt);
}

// Replays every fixture in order through the relation cache and the dirty
// mapping, the way the worker does.
TEST(WorkerPgoutput, FixtureStreamMarksTheRightListingsDirty) {
  RelationCache cache;
  replication::DirtyMarks marks;
  std::string error;
  std::vector<std::string> relnames;
  for (const auto &l : manifest()) {
    auto r = decode(fixture(l.n));
    ASSERT_TRUE(r.ok()) << r.error;
    if (auto *rel = std::get_if<Relation>(&*r.message)) {
      relnames.push_back(rel->relname);
      cache.put(*rel);
    }
    ASSERT_TRUE(replication::collect_dirty(cache, *r.message, marks, error)) << error;
  }
  // item (2 inserts), stock_level (receive, reserve), item update, item delete.
  EXPECT_NE(std::find(marks.skus.begin(), marks.skus.end(), "SKU-1"), marks.skus.end());
  EXPECT_NE(std::find(marks.skus.begin(), marks.skus.end(), "SKU-2"), marks.skus.end());
  std::pair<std::string, std::string> listing{"shop", "30322695"};
  // listing insert and listing delete (old key).
  EXPECT_EQ(std::count(marks.listings.begin(), marks.listings.end(), listing), 2);
  // channel insert and mode update.
  EXPECT_EQ(std::count(marks.channels.begin(), marks.channels.end(), "shop"), 2);
  EXPECT_FALSE(marks.full_diff);
  for (const char *n : {"item", "channel", "listing", "stock_level"})
    EXPECT_NE(std::find(relnames.begin(), relnames.end(), n), relnames.end()) << n;
}

namespace {

// stocksync.stock_bucket as pgoutput describes it (replica identity default:
// the primary key sku, location, bucket). The fixtures predate the table, so
// its messages are built here.
Relation stock_bucket_relation(Oid oid, const std::string &nspname = "stocksync") {
  Relation rel;
  rel.oid = oid;
  rel.nspname = nspname;
  rel.relname = "stock_bucket";
  rel.replica_identity = 'd';
  auto col = [&](const char *name, Oid type, bool key) {
    rel.columns.push_back(Column{static_cast<std::uint8_t>(key ? 1 : 0), name, type, -1});
  };
  col("sku", 25, true);
  col("location", 25, true);
  col("bucket", 21, true);
  for (const char *n : {"lent", "on_hand", "reserved", "committed", "damaged", "quality_control", "safety_stock",
                        "incoming"})
    col(n, 23, false);
  col("version", 20, false);
  return rel;
}

// A row of stock_bucket: every column as text.
Tuple stock_bucket_row(const std::string &sku, int bucket, int reserved) {
  Tuple t;
  auto text = [&](std::string v) { t.values.push_back(Value{Value::Kind::text, std::move(v)}); };
  text(sku);
  text("default");
  text(std::to_string(bucket));
  for (int v : {0, 10, reserved, 0, 0, 0, 0, 0})
    text(std::to_string(v));
  text("7");
  return t;
}

// The old key of a stock_bucket row: key columns set, the others null.
Tuple stock_bucket_key(const std::string &sku, int bucket) {
  Tuple t = stock_bucket_row(sku, bucket, 0);
  for (std::size_t i = 3; i < t.values.size(); ++i)
    t.values[i] = Value{};
  return t;
}

}  // namespace

// A hot SKU's bucket rows change its quantities like its stock_level row:
// insert (set_hot), update (a reservation taking a bucket) and delete
// (set_hot(sku, 0)) each mark the SKU, nothing else.
TEST(WorkerPgoutput, StockBucketChangesMarkTheirSku) {
  RelationCache cache;
  Relation rel = stock_bucket_relation(0x5001);
  replication::DirtyMarks marks;
  std::string error;
  ASSERT_TRUE(replication::collect_dirty(cache, rel, marks, error)) << error;
  cache.put(rel);
  EXPECT_TRUE(marks.empty());

  Insert ins{0x5001, stock_bucket_row("HOT-1", 0, 0)};
  ASSERT_TRUE(replication::collect_dirty(cache, ins, marks, error)) << error;
  EXPECT_EQ(marks.skus, std::vector<std::string>{"HOT-1"});

  Update up;
  up.relation = 0x5001;
  up.new_tuple = stock_bucket_row("HOT-2", 3, 1);
  ASSERT_TRUE(replication::collect_dirty(cache, up, marks, error)) << error;
  EXPECT_EQ(marks.skus, (std::vector<std::string>{"HOT-1", "HOT-2"}));

  Delete del;
  del.relation = 0x5001;
  del.old_key = stock_bucket_key("HOT-3", 15);
  ASSERT_TRUE(replication::collect_dirty(cache, del, marks, error)) << error;
  EXPECT_EQ(marks.skus, (std::vector<std::string>{"HOT-1", "HOT-2", "HOT-3"}));

  EXPECT_TRUE(marks.listings.empty());
  EXPECT_TRUE(marks.channels.empty());
  EXPECT_FALSE(marks.full_diff);
}

// The same through the decoder: an Insert into stock_bucket as bytes.
TEST(WorkerPgoutput, StockBucketInsertBytesMarkTheSku) {
  RelationCache cache;
  cache.put(stock_bucket_relation(0x5001));
  std::string m = std::string("I") + std::string("\0\0\x50\x01", 4) + "N" + std::string("\0\x0c", 2);
  auto text = [&](const std::string &v) {
    std::uint32_t n = static_cast<std::uint32_t>(v.size());
    m += 't';
    for (int shift : {24, 16, 8, 0})
      m += static_cast<char>((n >> shift) & 0xff);
    m += v;
  };
  text("HOT-1");
  text("default");
  text("4");
  for (int i = 0; i < 9; ++i)
    text("0");
  auto r = decode(m);
  ASSERT_TRUE(r.ok()) << r.error;
  replication::DirtyMarks marks;
  std::string error;
  ASSERT_TRUE(replication::collect_dirty(cache, *r.message, marks, error)) << error;
  EXPECT_EQ(marks.skus, std::vector<std::string>{"HOT-1"});
}

// A table of the same name in another schema is not ours.
TEST(WorkerPgoutput, StockBucketOfAnotherSchemaMarksNothing) {
  RelationCache cache;
  cache.put(stock_bucket_relation(0x5002, "public"));
  replication::DirtyMarks marks;
  std::string error;
  ASSERT_TRUE(replication::collect_dirty(cache, Insert{0x5002, stock_bucket_row("HOT-1", 0, 0)}, marks, error));
  EXPECT_TRUE(marks.empty());
}

TEST(WorkerPgoutput, DeleteCarriesTheOldKey) {
  // fixture 28: DELETE FROM stocksync.listing (replica identity default: the key).
  auto d = decode(fixture(28));
  ASSERT_TRUE(d.ok());
  auto &del = std::get<Delete>(*d.message);
  ASSERT_TRUE(del.old_key.has_value());
  EXPECT_FALSE(del.old_tuple.has_value());
}

TEST(WorkerPgoutput, EveryTruncationOfEveryFixtureIsAnErrorNotACrash) {
  for (const auto &l : manifest()) {
    std::string bytes = fixture(l.n);
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      auto r = decode(std::string_view(bytes).substr(0, len));
      EXPECT_FALSE(r.ok()) << "fixture " << l.n << " cut at " << len;
      EXPECT_FALSE(r.error.empty());
    }
    // One trailing byte too many is refused as well.
    EXPECT_FALSE(decode(bytes + "x").ok()) << "fixture " << l.n;
  }
}

TEST(WorkerPgoutput, HostileCountsAreRefusedBeforeAllocation) {
  // Insert with a tuple claiming 65535 columns in 3 bytes.
  std::string m = std::string("I") + std::string("\0\0\0\1", 4) + "N" + std::string("\xff\xff", 2) + "n";
  auto r = decode(m);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("columns"), std::string::npos);
  // Truncate claiming 2^32-1 relations.
  std::string t = std::string("T") + std::string("\xff\xff\xff\xff", 4) + std::string("\0", 1);
  EXPECT_FALSE(decode(t).ok());
  // A column length that is negative.
  std::string neg = std::string("I") + std::string("\0\0\0\1", 4) + "N" + std::string("\0\1", 2) + "t" +
                    std::string("\xff\xff\xff\xff", 4);
  EXPECT_FALSE(decode(neg).ok());
  EXPECT_FALSE(decode("").ok());
  EXPECT_FALSE(decode("Z").ok());
}

TEST(WorkerPgoutput, TruncateAsksForAFullDiff) {
  std::string t = std::string("T") + std::string("\0\0\0\1", 4) + std::string("\0", 1) + std::string("\0\0\x40\x01", 4);
  auto r = decode(t);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(std::get<Truncate>(*r.message).relations, std::vector<Oid>{0x4001});
  RelationCache cache;
  replication::DirtyMarks marks;
  std::string error;
  ASSERT_TRUE(replication::collect_dirty(cache, *r.message, marks, error));
  EXPECT_TRUE(marks.full_diff);
}

TEST(WorkerPgoutput, LsnFormatRoundTrips) {
  EXPECT_EQ(format_lsn(0x1A1C258), "0/1A1C258");
  EXPECT_EQ(format_lsn((Lsn(0x16) << 32) | 0xB374D848), "16/B374D848");
  EXPECT_EQ(parse_lsn("16/B374D848"), (Lsn(0x16) << 32) | 0xB374D848);
  EXPECT_EQ(parse_lsn("0/0"), Lsn(0));
  EXPECT_FALSE(parse_lsn("16B374D848").has_value());
  EXPECT_FALSE(parse_lsn("/1").has_value());
  EXPECT_FALSE(parse_lsn("1/G").has_value());
}
