'use strict';
// Canonical proto3 JSON of a protobufjs message, as grpcurl, protobuf's
// JsonFormat and the C++ client's --json print it: lowerCamelCase names
// (json_name), fields at their default value left out, enums by name, 64-bit
// integers as strings, bytes as base64, google.protobuf.Timestamp as RFC 3339
// and Duration as "1.5s". protobufjs' own toJSON prints a Timestamp as
// {seconds, nanos} and keeps defaults, which no other tool does.

// Fraction digits as protobuf prints them: none, 3, 6 or 9.
function fraction(nanos) {
  if (!nanos) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1e6 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1e3 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

function timestampToJson(message) {
  const seconds = Number(message.seconds);
  const iso = new Date(seconds * 1000).toISOString(); // ....SSSZ, whole seconds here
  return `${iso.slice(0, 19)}${fraction(message.nanos)}Z`;
}

function durationToJson(message) {
  const seconds = Number(message.seconds);
  const negative = seconds < 0 || message.nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(message.nanos))}s`;
}

function scalarToJson(field, value) {
  if (field.resolvedType && field.resolvedType.values !== undefined) {
    const name = field.resolvedType.valuesById[value];
    return name === undefined ? value : name; // an unknown enum number stays a number
  }
  switch (field.type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return String(value);
    case 'bytes':
      return Buffer.from(value).toString('base64');
    case 'float':
    case 'double':
      return Number.isFinite(value) ? value : String(value);
    default:
      return value;
  }
}

function valueToJson(field, value) {
  if (field.resolvedType && field.resolvedType.fields !== undefined) {
    return messageToJson(field.resolvedType, value);
  }
  return scalarToJson(field, value);
}

function isDefault(field, value) {
  if (value === null || value === undefined) return true;
  if (field.repeated) return value.length === 0;
  if (field.map) return Object.keys(value).length === 0;
  if (field.resolvedType && field.resolvedType.fields !== undefined) return false; // set message
  if (field.partOf) return false; // a set oneof member is printed even at its default
  if (typeof value === 'object' && typeof value.toNumber === 'function') {
    return value.toNumber() === 0; // Long
  }
  return value === 0 || value === '' || value === false || (value.length === 0 && !field.repeated);
}

/** The JSON value of `message`, an instance of protobufjs Type `type`. */
function messageToJson(type, message) {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return timestampToJson(message);
    case '.google.protobuf.Duration':
      return durationToJson(message);
    default:
      break;
  }
  type.resolveAll();
  const out = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (isDefault(field, value)) continue;
    const name = field.options && field.options.json_name ? field.options.json_name : field.name;
    if (field.map) {
      const map = {};
      for (const key of Object.keys(value)) map[key] = valueToJson(field, value[key]);
      out[name] = map;
    } else if (field.repeated) {
      out[name] = value.map((v) => valueToJson(field, v));
    } else {
      out[name] = valueToJson(field, value);
    }
  }
  return out;
}

module.exports = { messageToJson };
