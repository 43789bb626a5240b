// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// QStateSyncSqliteStorage behind a QStateSyncer: what comes back after a restart, when
// changes reach the file in each durability mode, and what a damaged file does.

#include "storagesupport.h"

#include <QStateSyncAuthorizationRequest>

#include <QtCore/qdatetime.h>
#include <QtCore/qfile.h>

using namespace TestSupport;
using namespace StorageSupport;

class tst_Storage : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void statesComeBackWithValueVersionAndMergeMode();
    void createStateAgainTakesTheOptionsAndKeepsTheValue();
    void restoredStatesAreClosedUntilCreatedAgain();
    void replayStaysBoundedOverRestarts();
    void removedStatesStayRemoved();
    void ttlDeadlinesSurviveARestart();
    void manyChangesAreSnapshotted();
    void batchedChangesAreShownAtOnceAndStoredByACleanStop();
    void batchedChangesAreStoredWithinTheInterval();
    void durableChangesAreStoredBeforeTheyAreAcknowledged();
    void durableChangesAreHiddenUntilStored();
    void destroyingTheStorageStoresWhatItHeld();
    void damagedFileIsReported();
    void storageIsSetBeforeTheFirstState();
    void oneStoragePerFile();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_file;
};

void tst_Storage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_file = m_dir->filePath(QStringLiteral("data/states.sqlite"));
}

void tst_Storage::statesComeBackWithValueVersionAndMergeMode()
{
    QJsonObject value;
    qint64 version = 0;
    {
        Node node(m_file);
        QVERIFY(node.attached);
        QVERIFY(node.storage->isAttached());
        QCOMPARE(createState(*node.server, "doc", {{"a", 1}}, QStateSync::MergeMode::Shallow),
                 QStringLiteral("doc"));
        QCOMPARE(createState(*node.server, "chat", {{"messages", QJsonArray()}}),
                 QStringLiteral("chat"));
        auto client = joinedClient(*node.server, "alice", "doc");
        QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
        client->updateState(QJsonObject{{"o", QJsonObject{{"y", 1}}}});
        client->updateState(QJsonObject{{"b", "two"}, {"a", QJsonValue::Null}});
        QTRY_COMPARE_WITH_TIMEOUT(acknowledged.size(), 2, Timeout);
        QVERIFY(node.server->updateStateValue("doc", {{"c", QJsonArray{1, 2}}}));
        QVERIFY(node.server->appendToState("chat", {{"messages", QJsonArray{"hi"}}}));
        QVERIFY(node.server->appendToState("chat", {{"messages", QJsonArray{"there"}}}));
        value = *node.server->valueOfState("doc");
        version = node.server->versionOfState("doc");
        QCOMPARE(version, 3);
    }
    Node node(m_file);
    QVERIFY(node.attached);
    QCOMPARE(node.created->size(), 2);
    QCOMPARE(node.server->stateIdentifiers().size(), 2);
    QCOMPARE(*node.server->valueOfState("doc"), value);
    QCOMPARE(node.server->versionOfState("doc"), version);
    QCOMPARE(*node.server->valueOfState("chat"),
             QJsonObject({{"messages", QJsonArray{"hi", "there"}}}));
    QCOMPARE(node.server->versionOfState("chat"), 2);
    // Created again, as an application does at every start, with the same options.
    QCOMPARE(createState(*node.server, "doc", {}, QStateSync::MergeMode::Shallow),
             QStringLiteral("doc"));
    // Shallow, as it was created: a nested object is replaced, not merged.
    QVERIFY(node.server->updateStateValue("doc", {{"o", QJsonObject{{"z", 2}}}}));
    QCOMPARE(node.server->valueOfState("doc")->value("o").toObject(), QJsonObject({{"z", 2}}));
    // A client joining sees the stored value and version.
    auto client = joinedClient(*node.server, "bob", "doc");
    QCOMPARE(client->version(), version + 1);
    QCOMPARE(client->value().value("b").toString(), QStringLiteral("two"));
}

void tst_Storage::createStateAgainTakesTheOptionsAndKeepsTheValue()
{
    {
        Node node(m_file);
        QCOMPARE(createState(*node.server, "doc", {{"a", 1}}), QStringLiteral("doc"));
        QVERIFY(node.server->updateStateValue("doc", {{"b", 2}}));
    }
    Node node(m_file);
    QStateSyncStateOptions options;
    options.setIdentifier("doc");
    options.setInitialValue(QJsonObject{{"ignored", true}});
    options.setInterceptStateUpdate([](const QJsonObject &updates, const QVariantMap &) {
        QJsonObject changed = updates;
        changed.insert("seen", true);
        return std::optional<QJsonObject>(changed);
    });
    QCOMPARE(node.server->createState(options), QStringLiteral("doc"));
    QCOMPARE(*node.server->valueOfState("doc"), QJsonObject({{"a", 1}, {"b", 2}}));
    QCOMPARE(node.server->versionOfState("doc"), 1);
    // Taken over once: a second createState() is refused as for any existing state.
    QVERIFY(node.server->createState(options).isNull());

    auto client = joinedClient(*node.server, "alice", "doc");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QJsonObject{{"c", 3}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(*node.server->valueOfState("doc"),
             QJsonObject({{"a", 1}, {"b", 2}, {"c", 3}, {"seen", true}}));
}

void tst_Storage::restoredStatesAreClosedUntilCreatedAgain()
{
    {
        Node node(m_file);
        createState(*node.server, "open");
        createState(*node.server, "secret", {{"plans", "hidden"}});
    }
    Node node(m_file);
    QCOMPARE(node.server->stateIdentifiers().size(), 2);
    connect(node.server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->accept({{"name", request->clientIdentifier()}});
            });
    createState(*node.server, "open");
    // Not created again: its filter is code that did not come back, so nobody may join.
    RawClient mallory;
    QVERIFY(mallory.open(urlOf(*node.server), "mallory"));
    mallory.join("secret");
    const QJsonObject refused = mallory.takeData(8);
    QCOMPARE(refused.value("code").toString(), QStringLiteral("state_not_found"));
    QVERIFY(!compact(refused).contains("hidden"));
    // The same answer, to the byte, as for a state that does not exist.
    mallory.join("nothing");
    QCOMPARE(mallory.takeData(8).value("message").toString(),
             refused.value("message").toString().replace("secret", "nothing"));
    // The application's value and version stay; the server itself may still change it.
    QCOMPARE(*node.server->valueOfState("secret"), QJsonObject({{"plans", "hidden"}}));
    QVERIFY(node.server->updateStateValue("secret", {{"more", 1}}));

    // Created again with its filter: the filter decides.
    QStateSyncStateOptions options;
    options.setIdentifier("secret");
    options.setAllowConnectingClient([](const QVariantMap &information) {
        return information.value("name").toString() != QLatin1String("mallory");
    });
    QCOMPARE(node.server->createState(options), QStringLiteral("secret"));
    mallory.join("secret");
    QCOMPARE(mallory.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));
    auto alice = joinedClient(*node.server, "alice", "secret");
    QCOMPARE(alice->version(), 1);
    QCOMPARE(alice->value().value("plans").toString(), QStringLiteral("hidden"));
}

void tst_Storage::replayStaysBoundedOverRestarts()
{
    // Fewer changes per run than a snapshot needs: without counting those replayed at
    // each start, no snapshot would ever be taken and every change would stay stored.
    constexpr int Runs = 4;
    constexpr int ChangesPerRun = 600;
    for (int run = 0; run < Runs; ++run) {
        {
            Node node(m_file);
            QVERIFY(node.attached);
            if (run == 0)
                createState(*node.server, "busy");
            QCOMPARE(node.server->versionOfState("busy"), run * ChangesPerRun);
            for (int i = 1; i <= ChangesPerRun; ++i)
                QVERIFY(node.server->updateStateValue("busy", {{"n", run * ChangesPerRun + i}}));
        }
        FileReader reader(m_file);
        QVERIFY(reader.isOpen());
        // A snapshot at least every 1,000 changes, across restarts.
        const qint64 stored = reader.count("SELECT COUNT(*) FROM changes");
        QVERIFY2(stored < 1000, qPrintable(QString::number(stored)));
        QCOMPARE(reader.count("SELECT snapshot_version FROM states") + stored,
                 (run + 1) * ChangesPerRun);
    }
    Node node(m_file);
    QCOMPARE(node.server->versionOfState("busy"), Runs * ChangesPerRun);
    QCOMPARE(node.server->valueOfState("busy")->value("n").toInt(), Runs * ChangesPerRun);
}

void tst_Storage::removedStatesStayRemoved()
{
    {
        Node node(m_file);
        createState(*node.server, "gone");
        createState(*node.server, "kept");
        QVERIFY(node.server->updateStateValue("gone", {{"x", 1}}));
        QVERIFY(node.server->removeState("gone"));
    }
    Node node(m_file);
    QCOMPARE(node.server->stateIdentifiers(), QStringList{"kept"});
    FileReader reader(m_file);
    QVERIFY(reader.isOpen());
    QCOMPARE(reader.count("SELECT COUNT(*) FROM changes WHERE identifier = 'gone'"), 0);
}

void tst_Storage::ttlDeadlinesSurviveARestart()
{
    qint64 deadline = 0;
    {
        Node node(m_file);
        QStateSyncStateOptions shortLived;
        shortLived.setIdentifier("short");
        shortLived.setTtl(std::chrono::milliseconds(300));
        QStateSyncStateOptions longLived;
        longLived.setIdentifier("long");
        longLived.setTtl(std::chrono::minutes(10));
        QCOMPARE(node.server->createState(shortLived), QStringLiteral("short"));
        QCOMPARE(node.server->createState(longLived), QStringLiteral("long"));
    }
    {
        FileReader reader(m_file);
        deadline = reader.count("SELECT ttl_deadline FROM states WHERE identifier = 'short'");
        QVERIFY(deadline > 0);
    }
    // The short one's deadline, as stored, passes while no server runs: it does not come
    // back, and a restart does not start its ttl over.
    QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentMSecsSinceEpoch() > deadline, Timeout);
    Node node(m_file);
    QCOMPARE(node.server->stateIdentifiers(), QStringList{"long"});
    FileReader reader(m_file);
    QCOMPARE(reader.count("SELECT COUNT(*) FROM states WHERE identifier = 'short'"), 0);
    QVERIFY(reader.count("SELECT ttl_deadline FROM states WHERE identifier = 'long'")
            > QDateTime::currentMSecsSinceEpoch() + 9 * 60 * 1000);
}

void tst_Storage::manyChangesAreSnapshotted()
{
    constexpr int Changes = 2500;
    QJsonObject value;
    {
        Node node(m_file);
        createState(*node.server, "busy");
        for (int i = 1; i <= Changes; ++i) {
            if (i % 3 == 0)
                QVERIFY(node.server->appendToState("busy", {{"list", QJsonArray{i}}}));
            else
                QVERIFY(node.server->updateStateValue(
                        "busy", {{"n", i}, {QStringLiteral("k%1").arg(i % 10), i}}));
        }
        value = *node.server->valueOfState("busy");
    }
    FileReader reader(m_file);
    // A snapshot every 1,000 changes: only those after the last one are kept.
    QCOMPARE(reader.count("SELECT COUNT(*) FROM changes"), Changes % 1000);
    QCOMPARE(reader.count("SELECT snapshot_version FROM states"), Changes - Changes % 1000);
    Node node(m_file);
    QCOMPARE(node.server->versionOfState("busy"), Changes);
    QCOMPARE(*node.server->valueOfState("busy"), value);
    QCOMPARE(value.value("list").toArray().size(), Changes / 3);
}

void tst_Storage::batchedChangesAreShownAtOnceAndStoredByACleanStop()
{
    {
        // An interval no test waits out: only the stop can write the change.
        Node node(m_file, Durability::Batched, 600000);
        createState(*node.server, "doc");
        auto client = joinedClient(*node.server, "alice", "doc");
        QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
        client->updateState(QJsonObject{{"a", 1}});
        QVERIFY(acknowledged.wait(Timeout));
        FileReader reader(m_file);
        QVERIFY(reader.isOpen());
        QVERIFY(!reader.hasChange("doc", 1));
    }
    FileReader reader(m_file);
    QVERIFY(reader.hasChange("doc", 1));
}

void tst_Storage::batchedChangesAreStoredWithinTheInterval()
{
    Node node(m_file, Durability::Batched, 50);
    createState(*node.server, "doc");
    QVERIFY(node.server->updateStateValue("doc", {{"a", 1}}));
    QCOMPARE(node.server->versionOfState("doc"), 1); // shown at once
    FileReader reader(m_file);
    QTRY_VERIFY_WITH_TIMEOUT(reader.hasChange("doc", 1), Timeout);
}

void tst_Storage::durableChangesAreStoredBeforeTheyAreAcknowledged()
{
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc");
    FileReader reader(m_file);
    QVERIFY(reader.isOpen());
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    int acknowledgements = 0;
    int storedFirst = 0;
    for (int c = 0; c < 3; ++c) {
        clients.push_back(joinedClient(*node.server, QStringLiteral("c%1").arg(c), "doc"));
        // Looked at the moment the acknowledgement arrives, before anything else runs.
        connect(clients.back().get(), &QStateSyncClient::updateAcknowledged, this,
                [&](qint64, qint64 version) {
                    ++acknowledgements;
                    if (reader.hasChange("doc", version))
                        ++storedFirst;
                });
    }
    QSignalSpy updated(node.server.get(), &QStateSyncer::stateUpdated);
    connect(node.server.get(), &QStateSyncer::stateUpdated, this,
            [&](const QString &, const QJsonObject &, qint64 version) {
                if (!reader.hasChange("doc", version))
                    storedFirst = -1000;
            });
    for (int round = 0; round < 20; ++round) {
        for (int c = 0; c < 3; ++c)
            clients[c]->updateState(QJsonObject{{QStringLiteral("c%1").arg(c), round}});
    }
    QTRY_COMPARE_WITH_TIMEOUT(acknowledgements, 60, Timeout);
    QCOMPARE(storedFirst, 60);
    QCOMPARE(updated.size(), 60);
    QCOMPARE(node.server->versionOfState("doc"), 60);
    for (const auto &client : clients)
        QTRY_COMPARE_WITH_TIMEOUT(client->version(), 60, Timeout);
}

void tst_Storage::durableChangesAreHiddenUntilStored()
{
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc", {{"a", 1}});
    QSignalSpy updated(node.server.get(), &QStateSyncer::stateUpdated);
    QVERIFY(node.server->updateStateValue("doc", {{"a", 2}}));
    QVERIFY(node.server->updateStateValue("doc", {{"b", 3}}));
    // Applied, but not stored before the event loop runs again: nobody sees it yet.
    QCOMPARE(*node.server->valueOfState("doc"), QJsonObject({{"a", 1}}));
    QCOMPARE(node.server->versionOfState("doc"), 0);
    QCOMPARE(updated.size(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(updated.size(), 2, Timeout);
    QCOMPARE(updated.at(0).at(2).toLongLong(), 1);
    QCOMPARE(updated.at(1).at(2).toLongLong(), 2);
    QCOMPARE(*node.server->valueOfState("doc"), QJsonObject({{"a", 2}, {"b", 3}}));
    QCOMPARE(node.server->versionOfState("doc"), 2);
}

void tst_Storage::destroyingTheStorageStoresWhatItHeld()
{
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc");
    QSignalSpy changed(node.server.get(), &QStateSyncer::storageChanged);
    QVERIFY(node.server->updateStateValue("doc", {{"a", 1}}));
    node.storage.reset();
    QCOMPARE(changed.size(), 1);
    QCOMPARE(node.server->storage(), nullptr);
    // Stored before the storage went, so shown; the server goes on in memory.
    QCOMPARE(node.server->versionOfState("doc"), 1);
    QVERIFY(node.server->updateStateValue("doc", {{"b", 2}}));
    QCOMPARE(node.server->versionOfState("doc"), 2);
    FileReader reader(m_file);
    QVERIFY(reader.hasChange("doc", 1));
    QVERIFY(!reader.hasChange("doc", 2));
}

void tst_Storage::damagedFileIsReported()
{
    QVERIFY(QDir().mkpath(QFileInfo(m_file).absolutePath()));
    QFile file(m_file);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, 'x'));
    file.close();

    QStateSyncSqliteStorage storage(m_file);
    QSignalSpy errors(&storage, &QStateSyncStorage::errorOccurred);
    QStateSyncer server;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("states.sqlite"));
    QVERIFY(!server.setStorage(&storage));
    QCOMPARE(errors.size(), 1);
    QVERIFY(!storage.errorString().isEmpty());
    QVERIFY(!storage.isAttached());
    QCOMPARE(server.storage(), nullptr);
    // The server itself is unharmed, in memory.
    QCOMPARE(createState(server, "doc"), QStringLiteral("doc"));

    // A file name that cannot be a file.
    QStateSyncSqliteStorage nowhere(m_dir->path());
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("cannot open"));
    QStateSyncer other;
    QVERIFY(!other.setStorage(&nowhere));
    QVERIFY(!nowhere.errorString().isEmpty());
}

void tst_Storage::storageIsSetBeforeTheFirstState()
{
    QStateSyncer server;
    createState(server, "early");
    QStateSyncSqliteStorage storage(m_file);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("before the server has states"));
    QVERIFY(!server.setStorage(&storage));
    QVERIFY(!storage.isAttached());

    // One storage serves one server.
    QStateSyncer first;
    QStateSyncer second;
    QVERIFY(first.setStorage(&storage));
    QCOMPARE(first.storage(), &storage);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("another server"));
    QVERIFY(!second.setStorage(&storage));
    // Detached, it is free again.
    QVERIFY(first.setStorage(nullptr));
    QVERIFY(!storage.isAttached());
    QVERIFY(second.setStorage(&storage));
}

void tst_Storage::oneStoragePerFile()
{
    Node first(m_file);
    QVERIFY(first.attached);
    QVERIFY(QFileInfo::exists(m_file + ".lock"));
    QStateSyncSqliteStorage second(m_file);
    QStateSyncer server;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("is in use by process"));
    QVERIFY(!server.setStorage(&second));
    QVERIFY(second.errorString().contains(QString::number(QCoreApplication::applicationPid())));
    // Free again once the first one is done with it.
    first.server.reset();
    first.storage.reset();
    QVERIFY(!QFileInfo::exists(m_file + ".lock"));
    QVERIFY(server.setStorage(&second));
}

QTEST_MAIN(tst_Storage)
#include "tst_storage.moc"
