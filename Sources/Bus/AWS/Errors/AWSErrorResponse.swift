import Foundation
import NIOHTTP1

/// Reads the error out of a failed response of either protocol: JSON (`__type`, `message`, and the
/// `x-amzn-query-error` header of query-compatible services such as SQS) or Query XML
/// (`<ErrorResponse><Error><Code>...`).
enum AWSErrorResponse {
    static func error(from response: AWSHTTPResponse, operation: String) -> AWSError {
        var awsCode: String?
        var message: String?
        var requestID = response.requestID
        // SQS's JSON errors name the shape; this header keeps the code its Query API used, which
        // documentation and older clients know (`AWS.SimpleQueueService.NonExistentQueue`).
        if let queryError = response.headers.first(name: "x-amzn-query-error"),
            let code = queryError.split(separator: ";").first, !code.isEmpty
        {
            awsCode = String(code)
        }
        let firstByte = response.body.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        if firstByte == UInt8(ascii: "{"),
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        {
            let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String
            awsCode = awsCode ?? type?.split(separator: "#").last.map(String.init)
            message = (object["message"] ?? object["Message"]) as? String
        } else if firstByte == UInt8(ascii: "<"), let root = try? XMLReader.parse(response.body) {
            let error = root.first(named: "Error")
            awsCode = awsCode ?? error?.child("Code")?.text
            message = error?.child("Message")?.text
            requestID = requestID ?? root.first(named: "RequestId")?.text ?? root.first(named: "RequestID")?.text
        } else if !response.body.isEmpty {
            message = String(decoding: response.body.prefix(512), as: UTF8.self)
        }
        return AWSError(
            awsCode: awsCode,
            message: message ?? "HTTP \(response.status) without an error message",
            httpStatus: response.status,
            requestID: requestID,
            operation: operation
        )
    }
}
