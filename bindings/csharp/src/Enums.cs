namespace AaLogon
{
    /// <summary>
    /// The status codes of the C API (<c>enum aa_status</c>), with the library's numbers.
    /// Groups: 1–99 misuse of the API, 100–199 configuration, 200–299 network and TLS, 300–399
    /// the AA server's verdicts and errors, 400–499 security keys.
    /// </summary>
    public enum AaStatus : uint
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>A required argument was missing.</summary>
        NullArgument = 1,
        /// <summary>A string argument was not valid UTF-8.</summary>
        InvalidUtf8 = 2,
        /// <summary>A string argument was longer than the library accepts (64 KiB).</summary>
        ArgumentTooLong = 3,
        /// <summary>An argument had a value that is not allowed.</summary>
        InvalidArgument = 4,
        /// <summary>The handle was freed, foreign, or of another type.</summary>
        InvalidHandle = 5,
        /// <summary>The call does not fit the logon's state.</summary>
        InvalidState = 6,
        /// <summary>Another thread is using this logon right now.</summary>
        HandleBusy = 7,
        /// <summary>An internal error (a caught panic) ended the operation.</summary>
        Panic = 8,
        /// <summary>The requested value is not present.</summary>
        NotAvailable = 9,
        /// <summary>Bad client configuration (URL, CA file, pin, proxy, timeouts).</summary>
        Config = 100,
        /// <summary>TLS handshake or certificate verification failed.</summary>
        Tls = 200,
        /// <summary>The AA server could not be reached or the connection broke.</summary>
        Network = 201,
        /// <summary>A connect or request timeout elapsed.</summary>
        Timeout = 202,
        /// <summary>The AA server answered with an HTTP error.</summary>
        ServerError = 300,
        /// <summary>The AA server rejected the attempt (status FAILED).</summary>
        LogonFailed = 301,
        /// <summary>The AA server stopped the logon (status STOP).</summary>
        LogonStopped = 302,
        /// <summary>The AA server's answer was not the documented JSON.</summary>
        MalformedServerData = 303,
        /// <summary>No security key was found before the timeout.</summary>
        NoDevice = 400,
        /// <summary>Security keys are present but none owns a key handle of the sign request.</summary>
        NoMatchingKey = 401,
        /// <summary>The security key was not touched before the timeout.</summary>
        UserPresenceTimeout = 402,
        /// <summary>The operation was cancelled.</summary>
        Cancelled = 403,
        /// <summary>A security key broke the protocol, reported an error, or was removed.</summary>
        DeviceError = 404,
    }

    /// <summary>The AA server's verdict after the last exchange of a logon.</summary>
    public enum LogonStatus : uint
    {
        /// <summary>The server wants (more) input for the current method.</summary>
        MoreData = 1,
        /// <summary>The current method passed; go on with <see cref="AaLogon.Next"/> and the chain's next method.</summary>
        Next = 2,
        /// <summary>The chain is complete; <see cref="AaLogon.LoginSessionId"/> holds the login session.</summary>
        Ok = 3,
        /// <summary>The attempt was rejected; see <see cref="AaLogon.Msgid"/> and <see cref="AaLogon.Reason"/>.</summary>
        Failed = 4,
        /// <summary>The server stopped the logon.</summary>
        Stop = 5,
        /// <summary>A status this library does not know; <see cref="AaLogon.ResponseJson"/> has the raw answer.</summary>
        Unknown = 6,
    }

    /// <summary>What the user should be told while <see cref="AaLogon.SignWithDevice"/> waits.</summary>
    public enum Prompt : uint
    {
        /// <summary>No security key is present: ask the user to insert one.</summary>
        InsertKey = 1,
        /// <summary>A key that owns a key handle waits for a touch: ask the user to touch it.</summary>
        TouchKey = 2,
        /// <summary>The key was touched; the signature is being sent to the server.</summary>
        Touched = 3,
    }

    /// <summary>Severity of a library log message, most severe first.</summary>
    public enum LogLevel : uint
    {
        /// <summary>Logging off (only meaningful as a maximum level).</summary>
        Off = 0,
        /// <summary>Failures the library could not handle.</summary>
        Error = 1,
        /// <summary>Suspicious conditions, e.g. TLS verification turned off.</summary>
        Warn = 2,
        /// <summary>Milestones of a logon.</summary>
        Info = 3,
        /// <summary>HTTP requests and device exchanges, without secrets.</summary>
        Debug = 4,
        /// <summary>Everything, including frame-level traces.</summary>
        Trace = 5,
    }

    /// <summary>The fields of a sign request entry (<c>enum aa_sign_request_field</c>).</summary>
    internal enum SignRequestField : uint
    {
        KeyHandle = 1,
        Challenge = 2,
        AppId = 3,
        Version = 4,
    }
}
