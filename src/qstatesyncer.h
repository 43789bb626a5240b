// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCER_H
#define QSTATESYNCER_H

#include "qstatesync_global.h"
#include "qstatesyncnamespace.h"
#include "qstatesyncstateoptions.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qobject.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qsslconfiguration.h>

#include <functional>
#include <memory>
#include <optional>

class QStateSyncAuthorizationRequest;
class QStateSyncHttpRequest;
class QStateSyncJoinRequest;
class QStateSyncStorage;
class QStateSyncUpdateRequest;
class QStateSyncerPrivate;

class Q_STATESYNC_EXPORT QStateSyncer : public QObject
{
    Q_OBJECT
    Q_MOC_INCLUDE("qstatesyncauthorizationrequest.h")
    Q_MOC_INCLUDE("qstatesyncjoinrequest.h")
    Q_MOC_INCLUDE("qstatesyncupdaterequest.h")
    Q_MOC_INCLUDE("qstatesynchttprequest.h")
    Q_MOC_INCLUDE("qstatesyncstorage.h")
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(quint16 serverPort READ serverPort NOTIFY listeningChanged)
    Q_PROPERTY(QString serverAddress READ serverAddressString NOTIFY listeningChanged)
    Q_PROPERTY(bool secure READ isSecure NOTIFY secureChanged)
    Q_PROPERTY(QStringList stateIdentifiers READ stateIdentifiers NOTIFY stateIdentifiersChanged)
    Q_PROPERTY(int clientCount READ clientCount NOTIFY clientCountChanged)
    Q_PROPERTY(qint64 maxMessageSize READ maxMessageSize WRITE setMaxMessageSize NOTIFY
                       maxMessageSizeChanged)
    Q_PROPERTY(int maxNestingDepth READ maxNestingDepth WRITE setMaxNestingDepth NOTIFY
                       maxNestingDepthChanged)
    Q_PROPERTY(int handshakeTimeout READ handshakeTimeout WRITE setHandshakeTimeout NOTIFY
                       handshakeTimeoutChanged)
    Q_PROPERTY(int heartbeatInterval READ heartbeatInterval WRITE setHeartbeatInterval NOTIFY
                       heartbeatIntervalChanged)
    Q_PROPERTY(
            qint64 maxStateSize READ maxStateSize WRITE setMaxStateSize NOTIFY maxStateSizeChanged)
    Q_PROPERTY(int maxClientsPerState READ maxClientsPerState WRITE setMaxClientsPerState NOTIFY
                       maxClientsPerStateChanged)
    Q_PROPERTY(int maxClients READ maxClients WRITE setMaxClients NOTIFY maxClientsChanged)
    Q_PROPERTY(double updateRate READ updateRate WRITE setUpdateRate NOTIFY updateRateChanged)
    Q_PROPERTY(int updateBurst READ updateBurst WRITE setUpdateBurst NOTIFY updateBurstChanged)
    Q_PROPERTY(int maxPendingHandshakes READ maxPendingHandshakes WRITE setMaxPendingHandshakes
                       NOTIFY maxPendingHandshakesChanged)
    Q_PROPERTY(qint64 maxPendingOutput READ maxPendingOutput WRITE setMaxPendingOutput NOTIFY
                       maxPendingOutputChanged)
    Q_PROPERTY(int ioThreads READ ioThreads WRITE setIoThreads NOTIFY ioThreadsChanged)
    Q_PROPERTY(int stateThreads READ stateThreads WRITE setStateThreads NOTIFY stateThreadsChanged)
    Q_PROPERTY(QStateSyncStorage *storage READ storage NOTIFY storageChanged)
    Q_PROPERTY(bool revealStateExistence READ revealStateExistence WRITE setRevealStateExistence
                       NOTIFY revealStateExistenceChanged)

public:
    using AuthorizationCallback
            = std::function<void(const QVariantMap &clientInformation, bool success)>;
    using AuthorizationMiddleware = std::function<void(QStateSyncAuthorizationRequest *request,
                                                       const AuthorizationCallback &callback)>;

    explicit QStateSyncer(QObject *parent = nullptr);
    ~QStateSyncer() override;

    bool listen(const QHostAddress &address = QHostAddress::Any, quint16 port = 0);
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    QString serverAddressString() const;
    quint16 serverPort() const;
    QString errorString() const;

    void setSslConfiguration(const QSslConfiguration &configuration);
    QSslConfiguration sslConfiguration() const;
    bool setCertificateFiles(const QString &certificateFile, const QString &privateKeyFile);
    bool isSecure() const;

    void useAuthorizationMiddleware(const AuthorizationMiddleware &middleware);

    bool setStorage(QStateSyncStorage *storage);
    QStateSyncStorage *storage() const;

    QString createState(const QStateSyncStateOptions &options = QStateSyncStateOptions());
    Q_INVOKABLE bool removeState(const QString &stateIdentifier);
    Q_INVOKABLE void removeAllStates();
    Q_INVOKABLE bool hasState(const QString &stateIdentifier) const;
    QStringList stateIdentifiers() const;
    std::optional<QJsonObject> valueOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE qint64 versionOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE QStringList clientsOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE QJsonArray presenceOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE qint64 sizeOfState(const QString &stateIdentifier) const;
    int clientCount() const;

    Q_INVOKABLE quint64 updatesApplied() const;
    Q_INVOKABLE quint64 updatesRefused() const;
    Q_INVOKABLE quint64 messagesReceived() const;
    Q_INVOKABLE quint64 messagesRefused() const;
    Q_INVOKABLE quint64 bytesReceived() const;
    Q_INVOKABLE quint64 bytesSent() const;
    Q_INVOKABLE quint64 connectionsRefused() const;
    Q_INVOKABLE quint64 connectionsDropped() const;
    Q_INVOKABLE qint64 pendingOutputBytes() const;

    bool updateStateValue(const QString &stateIdentifier, const QJsonObject &updates,
                          const QVariantMap &clientInformation = QVariantMap());
    bool appendToState(const QString &stateIdentifier, const QJsonObject &appends,
                       const QVariantMap &clientInformation = QVariantMap());

    qint64 maxMessageSize() const;
    void setMaxMessageSize(qint64 bytes);
    int maxNestingDepth() const;
    void setMaxNestingDepth(int depth);
    int handshakeTimeout() const;
    void setHandshakeTimeout(int milliseconds);
    int heartbeatInterval() const;
    void setHeartbeatInterval(int milliseconds);
    qint64 maxStateSize() const;
    void setMaxStateSize(qint64 bytes);
    int maxClientsPerState() const;
    void setMaxClientsPerState(int clients);
    int maxClients() const;
    void setMaxClients(int clients);
    double updateRate() const;
    void setUpdateRate(double updatesPerSecond);
    int updateBurst() const;
    void setUpdateBurst(int updates);
    int maxPendingHandshakes() const;
    void setMaxPendingHandshakes(int handshakes);
    qint64 maxPendingOutput() const;
    int ioThreads() const;
    void setMaxPendingOutput(qint64 bytes);
    void setIoThreads(int threads);
    int stateThreads() const;
    void setStateThreads(int threads);
    bool revealStateExistence() const;
    void setRevealStateExistence(bool reveal);

Q_SIGNALS:
    void authorizationRequested(QStateSyncAuthorizationRequest *request);
    void joinRequested(QStateSyncJoinRequest *request);
    void updateRequested(QStateSyncUpdateRequest *request);
    void httpRequested(QStateSyncHttpRequest *request);

    void stateCreated(const QString &stateIdentifier);
    void stateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    void clientJoined(const QString &stateIdentifier, const QString &clientIdentifier,
                      const QVariantMap &clientInformation);
    void clientLeft(const QString &stateIdentifier, const QString &clientIdentifier,
                    const QVariantMap &clientInformation);
    void stateUpdated(const QString &stateIdentifier, const QJsonObject &updates, qint64 version);

    void listeningChanged();
    void secureChanged();
    void stateIdentifiersChanged();
    void clientCountChanged();
    void maxMessageSizeChanged();
    void maxNestingDepthChanged();
    void handshakeTimeoutChanged();
    void heartbeatIntervalChanged();
    void maxStateSizeChanged();
    void maxClientsPerStateChanged();
    void maxClientsChanged();
    void updateRateChanged();
    void updateBurstChanged();
    void maxPendingHandshakesChanged();
    void maxPendingOutputChanged();
    void revealStateExistenceChanged();
    void ioThreadsChanged();
    void stateThreadsChanged();
    void storageChanged();

private:
    friend class QStateSyncerPrivate;
    Q_DISABLE_COPY_MOVE(QStateSyncer)
    std::unique_ptr<QStateSyncerPrivate> const d;
};

#endif // QSTATESYNCER_H
