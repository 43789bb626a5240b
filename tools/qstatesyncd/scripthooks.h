// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef SCRIPTHOOKS_H
#define SCRIPTHOOKS_H

#include <QtCore/qhash.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qobject.h>
#include <QtCore/qvariant.h>
#include <QtQml/qjsvalue.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>

QT_BEGIN_NAMESPACE
    class QQmlEngine;
    class QTimer;
QT_END_NAMESPACE

class QStateSyncAuthorizationRequest;
class QStateSyncJoinRequest;
class QStateSyncRequest;
class QStateSyncUpdateRequest;
class QStateSyncer;

// The hooks a .js or .qml file defines, called as the original's callbacks were:
// authorize (the authorization middleware), allowConnectingClient, interceptStateUpdate,
// interceptStateAppend, and joinRequested / updateRequested with the request objects.
// A hook that throws, or returns something unusable, refuses what it was asked about and
// logs one line; the daemon goes on. doc/qstatesyncd.md describes the API.
class ScriptHooks : public QObject
{
    Q_OBJECT

public:
    enum Hook {
        Authorize,
        AllowConnectingClient,
        InterceptStateUpdate,
        InterceptStateAppend,
        JoinRequested,
        UpdateRequested,
    };

    // Loads fileName (.js or .qml); the script sees syncer as the global "syncer".
    static std::unique_ptr<ScriptHooks> load(const QString &fileName, QStateSyncer *syncer,
                                             QString *error);
    ~ScriptHooks() override;

    bool has(Hook hook) const;
    QStringList hookNames() const;
    quint64 errorCount() const { return m_errorCount; }

    // How long a deferred join or update request may wait for its answer before it is
    // refused, so that a forgotten answer cannot stall a state's queue for ever.
    void setAnswerTimeout(std::chrono::milliseconds timeout) { m_answerTimeout = timeout; }
    // Whether a join refused because the hook failed or did not answer says so. Without,
    // the client gets the server's answer for a state it may not join, which does not
    // tell whether the state exists.
    void setExplainJoinRefusals(bool explain) { m_explainJoinRefusals = explain; }

    // claims: the verified token's claims, or std::nullopt when no token was checked.
    // Answers or defers request.
    void authorize(QStateSyncAuthorizationRequest *request,
                   const std::optional<QVariantMap> &claims);
    bool allowConnectingClient(const QVariantMap &clientInformation,
                               const QString &stateIdentifier);
    // hook: InterceptStateUpdate or InterceptStateAppend. std::nullopt refuses.
    std::optional<QJsonObject> intercept(Hook hook, const QJsonObject &changes,
                                         const QVariantMap &clientInformation,
                                         const QString &stateIdentifier);
    void handleJoinRequest(QStateSyncJoinRequest *request);
    void handleUpdateRequest(QStateSyncUpdateRequest *request);

    // For the script's setTimeout() and clearTimeout().
    Q_INVOKABLE int setTimeout(const QJSValue &callback, int milliseconds);
    Q_INVOKABLE void clearTimeout(int id);

private:
    explicit ScriptHooks(const QString &fileName);
    bool loadScript(QStateSyncer *syncer, QString *error);

    // Calls hook through a JavaScript try/catch (a thrown string or object would look
    // like a return value otherwise); *ok is false when it threw, which is logged.
    QJSValue call(Hook hook, const QJSValueList &arguments, bool *ok);
    QJSValue wrap(QObject *object);
    QJSValue wrapRequest(QStateSyncRequest *request);
    int parameterCount(Hook hook) const;
    void reportError(const QString &context, const QString &message);
    void handleRequest(Hook hook, QStateSyncRequest *request);
    void limitWaiting(Hook hook, QStateSyncRequest *request);
    // message, unless hook is a join's and its refusals are not to be explained.
    QString refusalMessage(Hook hook, const QString &message) const;

    QString m_fileName;
    std::unique_ptr<QQmlEngine> m_engine;
    std::unique_ptr<QObject> m_root;
    QJSValue m_self;
    QJSValue m_invoke;
    QJSValue m_makeCallback;
    QJSValue m_guardRequest;
    std::array<QJSValue, UpdateRequested + 1> m_functions;
    QHash<int, QTimer *> m_timers;
    QHash<int, QJSValue> m_timerCallbacks;
    int m_nextTimerId = 1;
    quint64 m_errorCount = 0;
    std::chrono::milliseconds m_answerTimeout{10000};
    bool m_explainJoinRefusals = true;
};

#endif // SCRIPTHOOKS_H
