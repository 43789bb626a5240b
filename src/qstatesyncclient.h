// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCCLIENT_H
#define QSTATESYNCCLIENT_H

#include "qstatesync_global.h"
#include "qstatesyncnamespace.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qobject.h>
#include <QtCore/qurl.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qsslconfiguration.h>

#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
    class QQmlPropertyMap;
QT_END_NAMESPACE

class QStateSyncClientPrivate;
class QStateSyncPresenceModel;

class Q_STATESYNC_EXPORT QStateSyncClient : public QObject
{
    Q_OBJECT
    Q_MOC_INCLUDE("QtQml/qqmlpropertymap.h")
    Q_MOC_INCLUDE("qstatesyncpresencemodel.h")
    Q_PROPERTY(QUrl url READ url WRITE setUrl NOTIFY urlChanged)
    Q_PROPERTY(QList<QUrl> urls READ urls WRITE setUrls NOTIFY urlsChanged)
    Q_PROPERTY(QUrl currentUrl READ currentUrl NOTIFY currentUrlChanged)
    Q_PROPERTY(QString clientIdentifier READ clientIdentifier WRITE setClientIdentifier NOTIFY
                       clientIdentifierChanged)
    Q_PROPERTY(QString accessToken READ accessToken WRITE setAccessToken NOTIFY accessTokenChanged)
    Q_PROPERTY(Status status READ status NOTIFY statusChanged)
    Q_PROPERTY(bool active READ isActive WRITE setActive NOTIFY activeChanged)
    Q_PROPERTY(QString stateIdentifier READ stateIdentifier WRITE setStateIdentifier NOTIFY
                       stateIdentifierChanged)
    Q_PROPERTY(qint64 version READ version NOTIFY versionChanged)
    Q_PROPERTY(QQmlPropertyMap *state READ state CONSTANT)
    Q_PROPERTY(QStateSyncPresenceModel *presence READ presence CONSTANT)
    Q_PROPERTY(QVariantMap presenceData READ presenceData WRITE setPresenceData NOTIFY
                       presenceDataChanged)
    Q_PROPERTY(ProtocolVersion requestedProtocolVersion READ requestedProtocolVersion WRITE
                       setRequestedProtocolVersion NOTIFY requestedProtocolVersionChanged)
    Q_PROPERTY(ProtocolVersion protocolVersion READ protocolVersion NOTIFY protocolVersionChanged)
    Q_PROPERTY(bool autoReconnect READ autoReconnect WRITE setAutoReconnect NOTIFY
                       autoReconnectChanged)
    Q_PROPERTY(int reconnectDelay READ reconnectDelay WRITE setReconnectDelay NOTIFY
                       reconnectDelayChanged)
    Q_PROPERTY(int maxReconnectDelay READ maxReconnectDelay WRITE setMaxReconnectDelay NOTIFY
                       maxReconnectDelayChanged)
    Q_PROPERTY(int reconnectAttempt READ reconnectAttempt NOTIFY reconnectAttemptChanged)
    Q_PROPERTY(int connectTimeout READ connectTimeout WRITE setConnectTimeout NOTIFY
                       connectTimeoutChanged)
    Q_PROPERTY(int heartbeatInterval READ heartbeatInterval WRITE setHeartbeatInterval NOTIFY
                       heartbeatIntervalChanged)
    Q_PROPERTY(bool optimisticUpdates READ optimisticUpdates WRITE setOptimisticUpdates NOTIFY
                       optimisticUpdatesChanged)
    Q_PROPERTY(int maxQueuedUpdates READ maxQueuedUpdates WRITE setMaxQueuedUpdates NOTIFY
                       maxQueuedUpdatesChanged)
    Q_PROPERTY(int pendingUpdateCount READ pendingUpdateCount NOTIFY pendingUpdateCountChanged)
    Q_PROPERTY(QStateSync::Error error READ error NOTIFY errorChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorChanged)

public:
    enum Status { Unconnected, Connecting, Connected, Joining, Joined, Error, Reconnecting };
    Q_ENUM(Status)

    enum ProtocolVersion { ProtocolV1 = 1, ProtocolV2 = 2 };
    Q_ENUM(ProtocolVersion)

    using StateUpdateListener
            = std::function<void(const QVariantMap &updates, const QVariantMap &previousValues)>;

    explicit QStateSyncClient(QObject *parent = nullptr);
    QStateSyncClient(const QUrl &url, const QString &clientIdentifier,
                     const QString &accessToken = QString(), QObject *parent = nullptr);
    ~QStateSyncClient() override;

    QUrl url() const;
    void setUrl(const QUrl &url);
    QList<QUrl> urls() const;
    void setUrls(const QList<QUrl> &urls);
    QUrl currentUrl() const;
    QString clientIdentifier() const;
    void setClientIdentifier(const QString &clientIdentifier);
    QString accessToken() const;
    void setAccessToken(const QString &accessToken);
    ProtocolVersion requestedProtocolVersion() const;
    void setRequestedProtocolVersion(ProtocolVersion version);
    void setSslConfiguration(const QSslConfiguration &configuration);
    QSslConfiguration sslConfiguration() const;

    bool autoReconnect() const;
    void setAutoReconnect(bool enabled);
    int reconnectDelay() const;
    void setReconnectDelay(int milliseconds);
    int maxReconnectDelay() const;
    void setMaxReconnectDelay(int milliseconds);
    int reconnectAttempt() const;
    int connectTimeout() const;
    void setConnectTimeout(int milliseconds);
    int heartbeatInterval() const;
    void setHeartbeatInterval(int milliseconds);
    bool optimisticUpdates() const;
    void setOptimisticUpdates(bool enabled);
    int maxQueuedUpdates() const;
    void setMaxQueuedUpdates(int count);
    int pendingUpdateCount() const;

    bool isActive() const;
    void setActive(bool active);
    Status status() const;
    QString stateIdentifier() const;
    void setStateIdentifier(const QString &stateIdentifier);
    qint64 version() const;
    ProtocolVersion protocolVersion() const;
    QStateSync::Error error() const;
    QString errorString() const;

    Q_INVOKABLE QVariantMap value() const;
    QJsonObject jsonValue() const;
    Q_INVOKABLE QVariantMap serverValue() const;
    QJsonObject jsonServerValue() const;
    QQmlPropertyMap *state() const;
    QStateSyncPresenceModel *presence() const;
    QVariantMap presenceData() const;
    void setPresenceData(const QVariantMap &data);

    qint64 updateState(const QJsonObject &updates);
    Q_INVOKABLE qint64 updateState(const QVariantMap &updates);
    Q_INVOKABLE qint64 setValueAt(const QStringList &path, const QVariant &value);
    qint64 append(const QString &key, const QJsonArray &items);
    Q_INVOKABLE qint64 append(const QString &key, const QVariant &item);
    Q_INVOKABLE qint64 appendItems(const QString &key, const QVariantList &items);

    void addStateUpdateListener(const QString &listenerIdentifier,
                                const StateUpdateListener &listener,
                                const QStringList &properties = QStringList());
    bool removeStateUpdateListener(const QString &listenerIdentifier);

public Q_SLOTS:
    void open();
    void close();
    void connectToState(const QString &stateIdentifier);
    void leaveState();

Q_SIGNALS:
    void connected();
    void disconnected();
    void joined(const QString &stateIdentifier, const QVariantMap &state);
    void joinFailed(const QString &stateIdentifier, QStateSync::Error error,
                    const QString &message);
    void left(const QString &stateIdentifier);
    void stateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    void stateUpdated(const QVariantMap &updates, const QVariantMap &previousValues);
    void updateAcknowledged(qint64 requestId, qint64 version);
    void updateFailed(qint64 requestId, QStateSync::Error error, const QString &message);
    void errorOccurred(QStateSync::Error error, const QString &message);
    void peerJoined(const QVariantMap &peer);
    void peerLeft(const QVariantMap &peer);
    void peerChanged(const QVariantMap &peer);

    void urlChanged();
    void urlsChanged();
    void currentUrlChanged();
    void autoReconnectChanged();
    void reconnectDelayChanged();
    void maxReconnectDelayChanged();
    void reconnectAttemptChanged();
    void connectTimeoutChanged();
    void heartbeatIntervalChanged();
    void optimisticUpdatesChanged();
    void maxQueuedUpdatesChanged();
    void pendingUpdateCountChanged();
    void activeChanged();
    void clientIdentifierChanged();
    void accessTokenChanged();
    void statusChanged();
    void stateIdentifierChanged();
    void versionChanged();
    void requestedProtocolVersionChanged();
    void protocolVersionChanged();
    void errorChanged();
    void presenceDataChanged();

private:
    friend class QStateSyncClientPrivate;
    Q_DISABLE_COPY_MOVE(QStateSyncClient)
    std::unique_ptr<QStateSyncClientPrivate> const d;
};

#endif // QSTATESYNCCLIENT_H
