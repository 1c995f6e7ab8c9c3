"""The generated stubs (agleader_credentials_pb2, ..._pb2_grpc, google.rpc's
status_pb2, error_details_pb2, code_pb2): written here by gen_stubs.py when the
package is built, so absent from a source checkout."""
