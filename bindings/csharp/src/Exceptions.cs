using System;

namespace AaLogon
{
    /// <summary>
    /// A failure reported by the aa_logon library. <see cref="Status"/> is the library's status
    /// code; <see cref="Msgid"/>, <see cref="HttpStatus"/> and <see cref="Reason"/> carry the AA
    /// server's details when the failure came from the server, <see cref="DeviceCodeKind"/> and
    /// <see cref="DeviceCode"/> the security key's own error code when a key reported one.
    /// Subclasses group the status codes; catch this type to handle every library failure.
    /// </summary>
    public class AaException : Exception
    {
        /// <summary>Creates an exception for <paramref name="status"/> with the server's details, if any.</summary>
        /// <param name="status">The library's status code.</param>
        /// <param name="message">A readable, complete description of the failure.</param>
        /// <param name="msgid">The AA server's message id (e.g. "AUCORE-1056"), or null.</param>
        /// <param name="httpStatus">The HTTP status of the AA server's answer, or null.</param>
        /// <param name="reason">The AA server's reason (e.g. "PASSWORD_WRONG"), or null.</param>
        /// <param name="innerException">The exception that caused this one, or null.</param>
        /// <param name="deviceCodeKind">The family of the security key's own error code, or null.</param>
        /// <param name="deviceCode">The security key's own error code, or null.</param>
        public AaException(AaStatus status, string message, string msgid = null, int? httpStatus = null,
            string reason = null, Exception innerException = null, DeviceCodeKind? deviceCodeKind = null,
            uint? deviceCode = null)
            : base(message, innerException)
        {
            Status = status;
            Msgid = msgid;
            HttpStatus = httpStatus;
            Reason = reason;
            DeviceCodeKind = deviceCodeKind;
            DeviceCode = deviceCode;
        }

        /// <summary>The library's status code of the failure.</summary>
        public AaStatus Status { get; }

        /// <summary>The AA server's message id (e.g. "AUCORE-2007"), or null when there is none.</summary>
        public string Msgid { get; }

        /// <summary>The HTTP status of the AA server's answer, or null when the failure was not an HTTP answer.</summary>
        public int? HttpStatus { get; }

        /// <summary>The AA server's reason (e.g. "PASSWORD_WRONG"), or null when there is none.</summary>
        public string Reason { get; }

        /// <summary>
        /// Which family <see cref="DeviceCode"/> belongs to — a CTAPHID error byte, an ISO 7816
        /// status word of a U2F answer, or a CTAP2 status — or null when the failure carries no
        /// device code (it did not come from a key, or the key was unplugged). Set for
        /// <see cref="DeviceException"/> and, when a key caused it, <see cref="NoMatchingKeyException"/>.
        /// </summary>
        public DeviceCodeKind? DeviceCodeKind { get; internal set; }

        /// <summary>
        /// The security key's own error code (e.g. 0x6985 for an ISO 7816 status word, SW1 in the
        /// high byte), or null when the failure carries none; see <see cref="DeviceCodeKind"/>.
        /// </summary>
        public uint? DeviceCode { get; internal set; }

        /// <summary>
        /// A new exception of the class that represents <paramref name="status"/>, carrying the
        /// server's details where that class has them.
        /// </summary>
        internal static AaException Create(AaStatus status, string message, string msgid, int? httpStatus, string reason)
        {
            switch (status)
            {
                case AaStatus.NullArgument:
                case AaStatus.InvalidUtf8:
                case AaStatus.ArgumentTooLong:
                case AaStatus.InvalidArgument:
                case AaStatus.InvalidHandle:
                case AaStatus.InvalidState:
                case AaStatus.HandleBusy:
                case AaStatus.Panic:
                case AaStatus.NotAvailable:
                    return new MisuseException(status, message);
                case AaStatus.Config:
                    return new ConfigurationException(message);
                case AaStatus.Tls:
                    return new TlsException(message);
                case AaStatus.Network:
                    return new NetworkException(message);
                case AaStatus.Timeout:
                    return new RequestTimeoutException(message);
                case AaStatus.ServerError:
                    return new ServerException(message, msgid, httpStatus, reason);
                case AaStatus.LogonFailed:
                    return new LogonFailedException(message, msgid, httpStatus, reason);
                case AaStatus.LogonStopped:
                    return new LogonStoppedException(message, msgid, httpStatus, reason);
                case AaStatus.MalformedServerData:
                    return new MalformedServerDataException(message);
                case AaStatus.NoDevice:
                    return new NoDeviceException(message);
                case AaStatus.NoMatchingKey:
                    return new NoMatchingKeyException(message);
                case AaStatus.UserPresenceTimeout:
                    return new UserPresenceTimeoutException(message);
                case AaStatus.Cancelled:
                    return new CancelledException(message);
                case AaStatus.DeviceError:
                    return new DeviceException(message);
                case AaStatus.PinInvalid:
                    return new PinInvalidException(message);
                case AaStatus.PinBlocked:
                    return new PinBlockedException(message);
                case AaStatus.PinRequired:
                    return new PinRequiredException(message);
                case AaStatus.UvFailed:
                    return new UvFailedException(message);
                default:
                    return new AaException(status, message, msgid, httpStatus, reason);
            }
        }
    }

    /// <summary>
    /// The API was used wrongly: a bad argument, a call that does not fit the logon's state
    /// (<see cref="AaStatus.InvalidState"/>), a concurrent call on one logon
    /// (<see cref="AaStatus.HandleBusy"/>), or an internal error (<see cref="AaStatus.Panic"/>).
    /// Use after <c>Dispose</c> throws <see cref="ObjectDisposedException"/> instead.
    /// </summary>
    public class MisuseException : AaException
    {
        /// <summary>Creates the exception for one of the misuse statuses (1–99).</summary>
        public MisuseException(AaStatus status, string message) : base(status, message)
        {
        }
    }

    /// <summary>Bad client configuration: URL, CA file, public-key pin, proxy or timeouts.</summary>
    public class ConfigurationException : AaException
    {
        /// <summary>Creates the exception.</summary>
        public ConfigurationException(string message) : base(AaStatus.Config, message)
        {
        }
    }

    /// <summary>The AA server could not be reached or the connection broke.</summary>
    public class NetworkException : AaException
    {
        /// <summary>Creates the exception.</summary>
        public NetworkException(string message) : this(AaStatus.Network, message)
        {
        }

        /// <summary>Creates the exception for a more specific network status.</summary>
        protected NetworkException(AaStatus status, string message) : base(status, message)
        {
        }
    }

    /// <summary>The TLS handshake or the verification of the server's certificate failed.</summary>
    public class TlsException : NetworkException
    {
        /// <summary>Creates the exception.</summary>
        public TlsException(string message) : base(AaStatus.Tls, message)
        {
        }
    }

    /// <summary>
    /// A connect or request timeout to the AA server elapsed, or
    /// <see cref="AaLogon.WaitForApproval(System.TimeSpan, System.TimeSpan, System.Action{Prompt}, System.Threading.CancellationToken)"/>
    /// got no verdict in time (the logon process then lives on).
    /// </summary>
    public class RequestTimeoutException : NetworkException
    {
        /// <summary>Creates the exception.</summary>
        public RequestTimeoutException(string message) : base(AaStatus.Timeout, message)
        {
        }
    }

    /// <summary>
    /// The AA server answered with an HTTP error (e.g. 400 with msgid AUCORE-1056 for an unknown
    /// user); see <see cref="AaException.HttpStatus"/> and <see cref="AaException.Msgid"/>.
    /// </summary>
    public class ServerException : AaException
    {
        /// <summary>Creates the exception with the server's details.</summary>
        public ServerException(string message, string msgid = null, int? httpStatus = null, string reason = null)
            : base(AaStatus.ServerError, message, msgid, httpStatus, reason)
        {
        }
    }

    /// <summary>
    /// The AA server rejected the attempt (status FAILED), e.g. a wrong password with msgid
    /// AUCORE-2007 and reason PASSWORD_WRONG.
    /// </summary>
    public class LogonFailedException : AaException
    {
        /// <summary>Creates the exception with the server's details.</summary>
        public LogonFailedException(string message, string msgid = null, int? httpStatus = null, string reason = null)
            : base(AaStatus.LogonFailed, message, msgid, httpStatus, reason)
        {
        }
    }

    /// <summary>The AA server stopped the logon (status STOP).</summary>
    public class LogonStoppedException : AaException
    {
        /// <summary>Creates the exception with the server's details.</summary>
        public LogonStoppedException(string message, string msgid = null, int? httpStatus = null, string reason = null)
            : base(AaStatus.LogonStopped, message, msgid, httpStatus, reason)
        {
        }
    }

    /// <summary>The AA server's answer was not the documented JSON, or was larger than allowed.</summary>
    public class MalformedServerDataException : AaException
    {
        /// <summary>Creates the exception.</summary>
        public MalformedServerDataException(string message) : base(AaStatus.MalformedServerData, message)
        {
        }
    }

    /// <summary>
    /// A security key broke the CTAPHID/U2F protocol, reported an error, or was removed; base of
    /// the more specific security-key failures.
    /// </summary>
    public class DeviceException : AaException
    {
        /// <summary>Creates the exception.</summary>
        public DeviceException(string message) : this(AaStatus.DeviceError, message)
        {
        }

        /// <summary>Creates the exception for a more specific security-key status.</summary>
        protected DeviceException(AaStatus status, string message) : base(status, message)
        {
        }
    }

    /// <summary>No security key was found before the timeout.</summary>
    public class NoDeviceException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public NoDeviceException(string message) : base(AaStatus.NoDevice, message)
        {
        }
    }

    /// <summary>Security keys are present but none is enrolled for the user (owns a key handle of the request).</summary>
    public class NoMatchingKeyException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public NoMatchingKeyException(string message) : base(AaStatus.NoMatchingKey, message)
        {
        }
    }

    /// <summary>The security key was not touched before the timeout.</summary>
    public class UserPresenceTimeoutException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public UserPresenceTimeoutException(string message) : base(AaStatus.UserPresenceTimeout, message)
        {
        }
    }

    /// <summary>
    /// The PIN given for the security key was wrong. The message says how many retries are left;
    /// <see cref="AaException.DeviceCode"/> is the CTAP2 status 0x31 (PIN_INVALID).
    /// </summary>
    public class PinInvalidException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public PinInvalidException(string message) : base(AaStatus.PinInvalid, message)
        {
        }
    }

    /// <summary>
    /// The security key's PIN is blocked: no retries left, or too many wrong PINs since the key was
    /// plugged in (unplug it and plug it in again).
    /// </summary>
    public class PinBlockedException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public PinBlockedException(string message) : base(AaStatus.PinBlocked, message)
        {
        }
    }

    /// <summary>
    /// The request needs user verification and the key needs its PIN, but no PIN was given (no PIN
    /// function, or it returned null); also a key with no PIN set and no built-in user verification.
    /// </summary>
    public class PinRequiredException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public PinRequiredException(string message) : base(AaStatus.PinRequired, message)
        {
        }
    }

    /// <summary>The security key's built-in user verification (fingerprint…) failed or is blocked.</summary>
    public class UvFailedException : DeviceException
    {
        /// <summary>Creates the exception.</summary>
        public UvFailedException(string message) : base(AaStatus.UvFailed, message)
        {
        }
    }

    /// <summary>
    /// <see cref="AaLogon.SignWithDevice"/> was cancelled, through <see cref="AaLogon.Cancel"/> or
    /// its <see cref="System.Threading.CancellationToken"/>. The logon stays usable.
    /// </summary>
    public class CancelledException : AaException
    {
        /// <summary>Creates the exception.</summary>
        public CancelledException(string message) : base(AaStatus.Cancelled, message)
        {
        }
    }
}
