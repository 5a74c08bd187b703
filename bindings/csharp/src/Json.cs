using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace AaLogon
{
    /// <summary>
    /// A small strict JSON reader for the structured values of the C API, so the binding needs no
    /// package beyond the base library. Objects become <see cref="Dictionary{TKey,TValue}"/> of
    /// string to object, arrays <see cref="List{T}"/> of object, numbers <see cref="long"/> (or
    /// <see cref="double"/> when they have a fraction or exponent), and null stays null.
    /// </summary>
    internal sealed class Json
    {
        private const int MaxDepth = 64;
        private readonly string _text;
        private int _pos;

        private Json(string text)
        {
            _text = text;
        }

        /// <summary>Parses one JSON value; throws <see cref="MalformedServerDataException"/> on bad input.</summary>
        internal static object Parse(string text)
        {
            if (text == null)
            {
                throw new MalformedServerDataException("expected JSON, got nothing");
            }
            var reader = new Json(text);
            object value = reader.ReadValue(0);
            reader.SkipWhitespace();
            if (reader._pos != text.Length)
            {
                throw reader.Error("unexpected data after the JSON value");
            }
            return value;
        }

        internal static Dictionary<string, object> AsObject(object value, string what)
        {
            var result = value as Dictionary<string, object>;
            if (result == null)
            {
                throw new MalformedServerDataException(what + " is not a JSON object");
            }
            return result;
        }

        internal static List<object> AsArray(object value, string what)
        {
            var result = value as List<object>;
            if (result == null)
            {
                throw new MalformedServerDataException(what + " is not a JSON array");
            }
            return result;
        }

        /// <summary>A string member, or null when absent or JSON null.</summary>
        internal static string GetString(Dictionary<string, object> obj, string name)
        {
            object value = Member(obj, name);
            if (value == null)
            {
                return null;
            }
            var text = value as string;
            if (text == null)
            {
                throw new MalformedServerDataException("\"" + name + "\" is not a string");
            }
            return text;
        }

        /// <summary>An integer member, or null when absent or JSON null.</summary>
        internal static long? GetInteger(Dictionary<string, object> obj, string name)
        {
            object value = Member(obj, name);
            if (value == null)
            {
                return null;
            }
            if (!(value is long))
            {
                throw new MalformedServerDataException("\"" + name + "\" is not an integer");
            }
            return (long)value;
        }

        /// <summary>A boolean member, or <paramref name="fallback"/> when absent or JSON null.</summary>
        internal static bool GetBoolean(Dictionary<string, object> obj, string name, bool fallback)
        {
            object value = Member(obj, name);
            if (value == null)
            {
                return fallback;
            }
            if (!(value is bool))
            {
                throw new MalformedServerDataException("\"" + name + "\" is not a boolean");
            }
            return (bool)value;
        }

        /// <summary>An array-of-strings member; empty when absent or JSON null.</summary>
        internal static IReadOnlyList<string> GetStrings(Dictionary<string, object> obj, string name)
        {
            object value = Member(obj, name);
            return value == null ? new string[0] : ToStrings(value, "\"" + name + "\"");
        }

        /// <summary>An array member converted item by item; empty when absent or JSON null.</summary>
        internal static IReadOnlyList<T> GetList<T>(Dictionary<string, object> obj, string name, Func<object, T> convert)
        {
            object value = Member(obj, name);
            return value == null ? new T[0] : ToList(value, "\"" + name + "\"", convert);
        }

        /// <summary>An array converted item by item (<paramref name="convert"/> throws on a bad item).</summary>
        internal static IReadOnlyList<T> ToList<T>(object value, string what, Func<object, T> convert)
        {
            var items = AsArray(value, what);
            var result = new T[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                result[i] = convert(items[i]);
            }
            return result;
        }

        /// <summary>An array of strings.</summary>
        internal static IReadOnlyList<string> ToStrings(object value, string what)
        {
            return ToList(value, what, item =>
                item as string ?? throw new MalformedServerDataException(what + " is not an array of strings"));
        }

        /// <summary>A member's value; null when absent or JSON null alike.</summary>
        private static object Member(Dictionary<string, object> obj, string name)
        {
            object value;
            return obj.TryGetValue(name, out value) ? value : null;
        }

        private MalformedServerDataException Error(string what)
        {
            return new MalformedServerDataException("invalid JSON at offset " + _pos + ": " + what);
        }

        private void SkipWhitespace()
        {
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                {
                    return;
                }
                _pos++;
            }
        }

        private object ReadValue(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error("nested too deeply");
            }
            SkipWhitespace();
            if (_pos >= _text.Length)
            {
                throw Error("unexpected end");
            }
            char c = _text[_pos];
            switch (c)
            {
                case '{':
                    return ReadObject(depth);
                case '[':
                    return ReadArray(depth);
                case '"':
                    return ReadString();
                case 't':
                    ExpectWord("true");
                    return true;
                case 'f':
                    ExpectWord("false");
                    return false;
                case 'n':
                    ExpectWord("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return ReadNumber();
                    }
                    throw Error("unexpected character '" + c + "'");
            }
        }

        private void ExpectWord(string word)
        {
            if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
            {
                throw Error("expected " + word);
            }
            _pos += word.Length;
        }

        /// <summary>Skips white space, then consumes <paramref name="c"/> if it comes next.</summary>
        private bool Consume(char c)
        {
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] == c)
            {
                _pos++;
                return true;
            }
            return false;
        }

        private Dictionary<string, object> ReadObject(int depth)
        {
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            _pos++; // '{'
            if (Consume('}'))
            {
                return result;
            }
            do
            {
                SkipWhitespace();
                if (_pos >= _text.Length || _text[_pos] != '"')
                {
                    throw Error("expected a member name");
                }
                string name = ReadString();
                if (!Consume(':'))
                {
                    throw Error("expected ':'");
                }
                result[name] = ReadValue(depth + 1);
            }
            while (Consume(','));
            if (!Consume('}'))
            {
                throw Error("expected ',' or '}'");
            }
            return result;
        }

        private List<object> ReadArray(int depth)
        {
            var result = new List<object>();
            _pos++; // '['
            if (Consume(']'))
            {
                return result;
            }
            do
            {
                result.Add(ReadValue(depth + 1));
            }
            while (Consume(','));
            if (!Consume(']'))
            {
                throw Error("expected ',' or ']'");
            }
            return result;
        }

        private string ReadString()
        {
            _pos++; // opening quote
            var builder = new StringBuilder();
            while (true)
            {
                if (_pos >= _text.Length)
                {
                    throw Error("unterminated string");
                }
                char c = _text[_pos++];
                if (c == '"')
                {
                    return builder.ToString();
                }
                if (c < ' ')
                {
                    throw Error("control character in string");
                }
                if (c != '\\')
                {
                    builder.Append(c);
                    continue;
                }
                if (_pos >= _text.Length)
                {
                    throw Error("unterminated escape");
                }
                char escape = _text[_pos++];
                switch (escape)
                {
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '/': builder.Append('/'); break;
                    case 'b': builder.Append('\b'); break;
                    case 'f': builder.Append('\f'); break;
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case 'u':
                        int code;
                        if (_pos + 4 > _text.Length || !int.TryParse(_text.Substring(_pos, 4), NumberStyles.AllowHexSpecifier,
                                CultureInfo.InvariantCulture, out code))
                        {
                            throw Error("bad \\u escape");
                        }
                        builder.Append((char)code);
                        _pos += 4;
                        break;
                    default:
                        throw Error("bad escape \\" + escape);
                }
            }
        }

        private object ReadNumber()
        {
            int start = _pos;
            bool integral = true;
            if (_text[_pos] == '-')
            {
                _pos++;
            }
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c >= '0' && c <= '9')
                {
                    _pos++;
                }
                else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
                {
                    integral = false;
                    _pos++;
                }
                else
                {
                    break;
                }
            }
            string token = _text.Substring(start, _pos - start);
            long whole;
            if (integral && long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out whole))
            {
                return whole;
            }
            double real;
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out real))
            {
                return real;
            }
            throw Error("bad number " + token);
        }
    }
}
