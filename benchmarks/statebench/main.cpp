// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// qstatesync-statebench: the state threads' own work, without sockets. Many states each
// get batches of changes that are merged on a copy of the state's value and encoded for
// v2 clients, with one acknowledgement per batch, as QStateSyncer does with stateThreads
// set. The batches run on a pool of N state threads (or, with 0, on the calling thread),
// one round of every state's batch at a time, and the main thread adopts each new value,
// as the server's thread does. What it measures is how that work scales with the
// threads when cores are free for them, which the whole server on a small machine
// cannot show (doc/benchmarks.md, State threads). One JSON line on stdout.
//
//   qstatesync-statebench [--threads N] [--states N] [--changes-per-batch N]
//                         [--payload BYTES] [--warmup S] [--duration S]

#include "qstatesyncstatethreads_p.h"

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace {

struct Options
{
    int threads = 2;
    int states = 1000;
    int changesPerBatch = 4;
    int payload = 64;
    double warmup = 0.5;
    double duration = 2;
};

double processCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec) + double(usage.ru_stime.tv_sec)
            + (double(usage.ru_utime.tv_usec) + double(usage.ru_stime.tv_usec)) / 1e6;
}

// Counts the batches of a round down; the main thread waits for zero. Only the last
// batch of a round takes the mutex, so that the count does not make the state threads
// wait for each other.
class Countdown
{
public:
    void reset(int count) { m_left.store(count, std::memory_order_relaxed); }
    void done()
    {
        if (m_left.fetch_sub(1, std::memory_order_acq_rel) != 1)
            return;
        {
            const std::lock_guard lock(m_mutex);
            m_zero.notify_one();
        }
    }
    void wait()
    {
        std::unique_lock lock(m_mutex);
        m_zero.wait(lock, [this] { return m_left.load(std::memory_order_acquire) == 0; });
    }

private:
    std::atomic<int> m_left{0};
    std::mutex m_mutex;
    std::condition_variable m_zero;
};

struct State
{
    QJsonObject value;
    QStateSyncValueSizes sizes;
    qint64 version = 0;
};

class Bench
{
public:
    explicit Bench(const Options &options)
        : m_options(options)
    {
        m_states.resize(size_t(options.states));
        for (State &state : m_states) {
            for (int key = 0; key < options.changesPerBatch; ++key)
                state.value.insert(keyName(key), QString());
            state.sizes.measure(state.value);
        }
        // The changes are made up front, each state's its own, as the server has each
        // message parsed before it hands the change over: the main thread only hands them
        // over, so that its own part stays small, as the server's does.
        for (int state = 0; state < options.states; ++state) {
            for (int variant = 0; variant < Variants; ++variant) {
                for (int key = 0; key < options.changesPerBatch; ++key)
                    m_changes.push_back(QJsonObject{{keyName(key), payload(variant, key)}});
            }
        }
        if (options.threads > 0)
            m_pool = std::make_unique<QStateSyncStateThreads>(options.threads);
    }

    // Runs one round: a batch for every state. Returns the changes applied.
    qint64 round()
    {
        std::vector<std::shared_ptr<QStateSyncStateBatch>> batches;
        batches.reserve(m_states.size());
        m_countdown.reset(int(m_states.size()));
        for (size_t index = 0; index < m_states.size(); ++index) {
            auto batch = makeBatch(m_states[index], index);
            batches.push_back(batch);
            if (m_pool) {
                m_pool->post(int(index % size_t(m_pool->count())), [this, batch] {
                    batch->run();
                    m_countdown.done();
                });
            } else {
                batch->run();
                m_countdown.done();
            }
        }
        m_countdown.wait();
        qint64 applied = 0;
        for (size_t index = 0; index < m_states.size(); ++index) {
            auto &batch = batches[index];
            State &state = m_states[index];
            for (const QStateSyncStateBatch::Item &item : batch->items) {
                if (item.applied())
                    ++applied;
                // The frames are what the server would hand to its I/O threads.
                const bool acknowledged = item.acknowledgement != NoAcknowledgement;
                if (m_problem.isEmpty()
                    && (item.encoded.v2Frame.isEmpty()
                        || item.encoded.acknowledgementFrame.isEmpty() == acknowledged)) {
                    m_problem = QStringLiteral("a change of state %1 was not encoded").arg(index);
                }
            }
            // The server's thread adopts the new value; the old one and the batch are
            // freed on the batch's state thread, as the server does.
            std::swap(state.value, batch->value);
            std::swap(state.sizes, batch->sizes);
            state.version = batch->version;
            if (m_pool)
                m_pool->dispose(int(index % size_t(m_pool->count())), std::move(batch));
        }
        ++m_round;
        return applied;
    }

    // Every state holds the last round's payload under each key, at the version that
    // counts every change: the batches were merged, none lost or applied twice.
    QString check() const
    {
        if (!m_problem.isEmpty())
            return m_problem;
        const qint64 expectedVersion = m_round * m_options.changesPerBatch;
        for (size_t index = 0; index < m_states.size(); ++index) {
            const State &state = m_states[index];
            if (state.version != expectedVersion) {
                return QStringLiteral("state %1 is at version %2, not %3")
                        .arg(index)
                        .arg(state.version)
                        .arg(expectedVersion);
            }
            for (int key = 0; key < m_options.changesPerBatch; ++key) {
                if (state.value.value(keyName(key)).toString()
                    != payload(int((m_round - 1) % Variants), key))
                    return QStringLiteral("state %1 lost the change of key %2").arg(index).arg(key);
            }
        }
        return {};
    }

private:
    static constexpr int Variants = 16;
    static constexpr auto NoAcknowledgement = QStateSyncStateBatch::Item::Acknowledgement::None;

    static QString keyName(int key) { return QStringLiteral("k%1").arg(key); }

    // The payload of a change of a key: a variant's number, padded to size. Round r uses
    // variant r % Variants.
    QString payload(int variant, int key) const
    {
        QString text = QStringLiteral("%1.%2.").arg(variant).arg(key);
        text.append(QString(qMax(0, m_options.payload - int(text.size())), QLatin1Char('x')));
        return text;
    }

    std::shared_ptr<QStateSyncStateBatch> makeBatch(const State &state, size_t index)
    {
        auto batch = std::make_shared<QStateSyncStateBatch>();
        batch->value = state.value;
        batch->sizes = state.sizes;
        batch->version = state.version;
        batch->maxStateSize = 16 * 1024 * 1024;
        batch->encodeV2 = true;
        batch->items.resize(size_t(m_options.changesPerBatch));
        for (int key = 0; key < m_options.changesPerBatch; ++key) {
            QStateSyncStateBatch::Item &item = batch->items[size_t(key)];
            item.changes = m_changes[(index * Variants + size_t(m_round % Variants))
                                             * size_t(m_options.changesPerBatch)
                                     + size_t(key)];
            if (key == 0) {
                item.requestId = m_round;
                item.acknowledgement = QStateSyncStateBatch::Item::Acknowledgement::V2;
            }
        }
        return batch;
    }

    Options m_options;
    std::vector<State> m_states;
    std::unique_ptr<QStateSyncStateThreads> m_pool;
    Countdown m_countdown;
    std::vector<QJsonObject> m_changes; // Variants x changesPerBatch
    qint64 m_round = 0;
    QString m_problem;
};

bool parse(const QCoreApplication &app, Options *options, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
            QStringLiteral("Merges and encodes batches of many states on state threads."));
    parser.addHelpOption();
    const QCommandLineOption threads(QStringLiteral("threads"),
                                     QStringLiteral("State threads; 0 runs on the main thread."),
                                     QStringLiteral("N"), QString::number(options->threads));
    const QCommandLineOption states(QStringLiteral("states"), QStringLiteral("States."),
                                    QStringLiteral("N"), QString::number(options->states));
    const QCommandLineOption changes(
            QStringLiteral("changes-per-batch"), QStringLiteral("Changes in each state's batch."),
            QStringLiteral("N"), QString::number(options->changesPerBatch));
    const QCommandLineOption payload(QStringLiteral("payload"),
                                     QStringLiteral("Bytes of each change's value."),
                                     QStringLiteral("BYTES"), QString::number(options->payload));
    const QCommandLineOption warmup(QStringLiteral("warmup"),
                                    QStringLiteral("Seconds before the measurement."),
                                    QStringLiteral("S"), QString::number(options->warmup));
    const QCommandLineOption duration(QStringLiteral("duration"),
                                      QStringLiteral("Seconds measured."), QStringLiteral("S"),
                                      QString::number(options->duration));
    parser.addOptions({threads, states, changes, payload, warmup, duration});
    if (!parser.parse(app.arguments())) {
        *error = parser.errorText();
        return false;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    bool ok[6] = {};
    options->threads = parser.value(threads).toInt(&ok[0]);
    options->states = parser.value(states).toInt(&ok[1]);
    options->changesPerBatch = parser.value(changes).toInt(&ok[2]);
    options->payload = parser.value(payload).toInt(&ok[3]);
    options->warmup = parser.value(warmup).toDouble(&ok[4]);
    options->duration = parser.value(duration).toDouble(&ok[5]);
    if (std::find(std::begin(ok), std::end(ok), false) != std::end(ok) || options->threads < 0
        || options->threads > 64 || options->states < 1 || options->changesPerBatch < 1
        || options->payload < 0 || options->warmup < 0 || options->duration <= 0) {
        *error = QStringLiteral("an option is out of range (see --help)");
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Options options;
    QString error;
    if (!parse(app, &options, &error)) {
        std::fprintf(stderr, "qstatesync-statebench: %s\n", qPrintable(error));
        return 2;
    }

    Bench bench(options);
    QElapsedTimer clock;
    clock.start();
    while (clock.nsecsElapsed() < qint64(options.warmup * 1e9))
        bench.round();
    const double cpuBefore = processCpuSeconds();
    const qint64 start = clock.nsecsElapsed();
    qint64 applied = 0;
    qint64 measuredRounds = 0;
    do {
        applied += bench.round();
        ++measuredRounds;
    } while (clock.nsecsElapsed() - start < qint64(options.duration * 1e9));
    const double seconds = double(clock.nsecsElapsed() - start) / 1e9;
    const double cpu = (processCpuSeconds() - cpuBefore) / seconds;

    const qint64 expected = measuredRounds * options.states * options.changesPerBatch;
    QString problem = bench.check();
    if (problem.isEmpty() && applied != expected)
        problem = QStringLiteral("%1 changes applied of %2").arg(applied).arg(expected);

    QJsonObject result{
            {QStringLiteral("ok"), problem.isEmpty()},
            {QStringLiteral("scenario"), QStringLiteral("statebench")},
            {QStringLiteral("threads"), options.threads},
            {QStringLiteral("states"), options.states},
            {QStringLiteral("changes_per_batch"), options.changesPerBatch},
            {QStringLiteral("payload"), options.payload},
            {QStringLiteral("seconds"), seconds},
            {QStringLiteral("changes_per_s"), double(applied) / seconds},
            {QStringLiteral("cpu"), cpu},
    };
    if (!problem.isEmpty())
        result.insert(QStringLiteral("errors"), QJsonArray{problem});
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Compact).constData());
    return problem.isEmpty() ? 0 : 1;
}
