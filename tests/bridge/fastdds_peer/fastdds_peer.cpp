// A ROS 2-style peer on eProsima Fast DDS (Debian's libfastrtps, the C++ DDS API), for the
// bridge's interop tests and bench. The tests build it with fastddsgen and g++ and run it in
// their network namespace:
//
//   fastdds_peer pub TOPIC TYPE SAMPLES.hex [--transient-local] [--wait-match N] [--linger S]
//   fastdds_peer sub TOPIC TYPE COUNT [--transient-local] [--timeout S]
//   fastdds_peer server SERVICE example_interfaces/srv/AddTwoInts COUNT [--timeout S]
//   fastdds_peer client SERVICE example_interfaces/srv/AddTwoInts CALLS.txt [--timeout S]
//   fastdds_peer echo PING PONG SIZE [--timeout S]
//   fastdds_peer ping PING PONG SIZE COUNT [--timeout S]
//   fastdds_peer burst PING - SIZE COUNT [--timeout S]
//   fastdds_peer count PING - SIZE COUNT [--timeout S]
//
// `pub` reads one whole CDR sample per line (hex), lets Fast DDS deserialize it into its own
// type and writes that; `sub` prints each sample as Fast DDS serializes it again
// (`{"cdr": "<hex>"}`), so the tests compare Fast DDS's bytes with the bridge's. `server` and
// `client` speak AddTwoInts as rmw_fastrtps does: replies carry their request's sample
// identity. `echo` and `ping` are the bench's round trip on sensor_msgs/PointCloud2 with
// SIZE bytes of data; `ping` prints one JSON line of round-trip times in microseconds.
// `burst` writes COUNT clouds back to back (keep all: a write waits rather than replacing
// an unacknowledged one) and `count` receives them and prints how long they took.
// Transport: UDPv4 only (no shared memory), as the bridge uses.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fastdds/dds/domain/DomainParticipant.hpp>
#include <fastdds/dds/domain/DomainParticipantFactory.hpp>
#include <fastdds/dds/publisher/DataWriter.hpp>
#include <fastdds/dds/publisher/Publisher.hpp>
#include <fastdds/dds/subscriber/DataReader.hpp>
#include <fastdds/dds/subscriber/SampleInfo.hpp>
#include <fastdds/dds/subscriber/Subscriber.hpp>
#include <fastdds/dds/topic/TypeSupport.hpp>
#include <fastdds/rtps/common/WriteParams.h>
#include <fastdds/rtps/transport/UDPv4TransportDescriptor.h>

#include "ros_typesPubSubTypes.h"

using namespace eprosima::fastdds::dds;
using eprosima::fastrtps::rtps::SerializedPayload_t;
using eprosima::fastrtps::rtps::WriteParams;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
    std::string mode, topic, type, arg, arg2;
    bool transient_local = false;
    int wait_match = 1;
    double timeout = 30.0;
    double linger = 1.0;
    Clock::time_point deadline;
};

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "fastdds_peer: %s\n", why.c_str());
    std::exit(1);
}

bool before(const Args& a) { return Clock::now() < a.deadline; }

std::string hex(const unsigned char* data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string out(len * 2, '0');
    for (size_t i = 0; i < len; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    return out;
}

std::vector<unsigned char> unhex(const std::string& text) {
    std::vector<unsigned char> out;
    for (size_t i = 0; i + 1 < text.size(); i += 2) {
        out.push_back(static_cast<unsigned char>(std::stoi(text.substr(i, 2), nullptr, 16)));
    }
    return out;
}

/// History: keep last `depth`, or keep all (at most `-depth` samples) when negative.
void keep(HistoryQosPolicy& history, ResourceLimitsQosPolicy& limits, int depth) {
    if (depth > 0) {
        history.kind = KEEP_LAST_HISTORY_QOS;
        history.depth = depth;
        return;
    }
    history.kind = KEEP_ALL_HISTORY_QOS;
    limits.max_samples = -depth;
    limits.max_instances = 1;
    limits.max_samples_per_instance = -depth;
    limits.allocated_samples = std::min(-depth, 64);
}

/// A participant in domain 0 on UDPv4 only, with a publisher and a subscriber.
struct Dds {
    DomainParticipant* participant = nullptr;
    Publisher* publisher = nullptr;
    Subscriber* subscriber = nullptr;

    Dds() {
        DomainParticipantQos qos = PARTICIPANT_QOS_DEFAULT;
        qos.transport().use_builtin_transports = false;
        // Socket buffers large enough for a 1 MiB sample's fragments at once (the usual
        // tuning for large ROS 2 messages; Linux caps them at net.core.[rw]mem_max).
        auto udp = std::make_shared<eprosima::fastdds::rtps::UDPv4TransportDescriptor>();
        udp->receiveBufferSize = 4 << 20;
        udp->sendBufferSize = 4 << 20;
        qos.transport().user_transports.push_back(udp);
        participant = DomainParticipantFactory::get_instance()->create_participant(0, qos);
        if (participant == nullptr) fail("cannot create a participant");
        publisher = participant->create_publisher(PUBLISHER_QOS_DEFAULT);
        subscriber = participant->create_subscriber(SUBSCRIBER_QOS_DEFAULT);
    }

    /// A topic of `support`'s type (one TypeSupport per type: it owns the type object).
    Topic* topic(const std::string& name, TypeSupport support) {
        support.register_type(participant);
        Topic* t = participant->create_topic(name, support.get_type_name(), TOPIC_QOS_DEFAULT);
        if (t == nullptr) fail("cannot create topic " + name);
        return t;
    }

    /// A reliable writer keeping the last `depth` samples (all, up to `-depth`, if negative).
    DataWriter* writer(Topic* topic, bool transient_local, int depth) {
        DataWriterQos qos = DATAWRITER_QOS_DEFAULT;
        endpoint_qos(qos, transient_local, depth);
        qos.reliability().max_blocking_time = eprosima::fastrtps::Duration_t(10, 0);
        DataWriter* w = publisher->create_datawriter(topic, qos);
        if (w == nullptr) fail("cannot create a writer on " + topic->get_name());
        return w;
    }

    /// A reliable reader, history as for `writer`.
    DataReader* reader(Topic* topic, bool transient_local, int depth) {
        DataReaderQos qos = DATAREADER_QOS_DEFAULT;
        endpoint_qos(qos, transient_local, depth);
        DataReader* r = subscriber->create_datareader(topic, qos);
        if (r == nullptr) fail("cannot create a reader on " + topic->get_name());
        return r;
    }

    /// What writers and readers share: reliable, the history, durability, and payloads that
    /// grow to the sample (1 MiB clouds).
    template <class EndpointQos>
    static void endpoint_qos(EndpointQos& qos, bool transient_local, int depth) {
        qos.reliability().kind = RELIABLE_RELIABILITY_QOS;
        keep(qos.history(), qos.resource_limits(), depth);
        qos.durability().kind =
            transient_local ? TRANSIENT_LOCAL_DURABILITY_QOS : VOLATILE_DURABILITY_QOS;
        qos.endpoint().history_memory_policy =
            eprosima::fastrtps::rtps::PREALLOCATED_WITH_REALLOC_MEMORY_MODE;
    }
};

int writer_matches(DataWriter* w) {
    PublicationMatchedStatus status;
    w->get_publication_matched_status(status);
    return status.current_count;
}

int reader_matches(DataReader* r) {
    SubscriptionMatchedStatus status;
    r->get_subscription_matched_status(status);
    return status.current_count;
}

/// Waits until `w` (and `r`, if given) matched, then lets the far side discover them too.
void wait_matched(const Args& a, DataWriter* w, DataReader* r, int readers) {
    while (writer_matches(w) < readers || (r != nullptr && reader_matches(r) < 1)) {
        if (!before(a)) fail("the other side never matched");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
}

/// Takes one valid sample into `data` within the deadline.
bool take(const Args& a, DataReader* r, void* data, SampleInfo& info) {
    while (before(a)) {
        if (r->take_next_sample(data, &info) == ReturnCode_t::RETCODE_OK) {
            if (info.valid_data) return true;
            continue;
        }
        r->wait_for_unread_message(eprosima::fastrtps::Duration_t(0, 50000000));
    }
    return false;
}

template <class PubSub>
std::string serialized(PubSub& type, void* data) {
    SerializedPayload_t payload(type.getSerializedSizeProvider(data)());
    if (!type.serialize(data, &payload)) fail("cannot serialize a sample");
    return hex(payload.data, payload.length);
}

template <class PubSub>
int pub_sub(const Args& a) {
    using T = typename PubSub::type;
    Dds dds;
    Topic* topic = dds.topic("rt" + a.topic, TypeSupport(new PubSub()));
    PubSub codec;
    if (a.mode == "pub") {
        std::vector<T> samples;
        std::ifstream file(a.arg);
        for (std::string line; std::getline(file, line);) {
            if (line.empty()) continue;
            std::vector<unsigned char> bytes = unhex(line);
            SerializedPayload_t payload(static_cast<uint32_t>(bytes.size()));
            std::memcpy(payload.data, bytes.data(), bytes.size());
            payload.length = static_cast<uint32_t>(bytes.size());
            T sample;
            if (!codec.deserialize(&payload, &sample)) fail("Fast DDS cannot read sample: " + line.substr(0, 64));
            samples.push_back(sample);
        }
        DataWriter* w = dds.writer(topic, a.transient_local, 10);
        wait_matched(a, w, nullptr, a.wait_match);
        std::printf("matched\n");
        for (T& s : samples) {
            if (!w->write(&s)) fail("write failed");
            std::printf("{\"cdr\": \"%s\"}\n", serialized(codec, &s).c_str());
        }
        std::printf("published %zu\n", samples.size());
        std::fflush(stdout);
        w->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(5, 0));
        // Stay for late joiners (a transient-local writer serves them while it lives).
        std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(a.linger * 1000)));
        return 0;
    }
    DataReader* r = dds.reader(topic, a.transient_local, 10);
    std::printf("ready\n");
    std::fflush(stdout);
    int want = std::atoi(a.arg.c_str()), got = 0;
    T sample;
    SampleInfo info;
    while (got < want && take(a, r, &sample, info)) {
        ++got;
        std::printf("{\"cdr\": \"%s\"}\n", serialized(codec, &sample).c_str());
        std::fflush(stdout);
    }
    if (got < want) fail("only " + std::to_string(got) + " of " + a.arg + " samples");
    return 0;
}

using example_interfaces::srv::dds_::AddTwoInts_Request_;
using example_interfaces::srv::dds_::AddTwoInts_Response_;

int add_two_ints(const Args& a) {
    Dds dds;
    Topic* rq = dds.topic("rq" + a.topic + "Request",
                          TypeSupport(new example_interfaces::srv::dds_::AddTwoInts_Request_PubSubType()));
    Topic* rr = dds.topic("rr" + a.topic + "Reply",
                          TypeSupport(new example_interfaces::srv::dds_::AddTwoInts_Response_PubSubType()));
    SampleInfo info;
    if (a.mode == "server") {
        DataReader* requests = dds.reader(rq, false, 10);
        DataWriter* replies = dds.writer(rr, false, 10);
        std::printf("ready\n");
        std::fflush(stdout);
        int want = std::atoi(a.arg.c_str()), served = 0;
        AddTwoInts_Request_ request;
        while (served < want && take(a, requests, &request, info)) {
            AddTwoInts_Response_ reply;
            reply.sum(request.a() + request.b());
            // rmw_fastrtps: the reply names its request.
            WriteParams params;
            params.related_sample_identity(info.sample_identity);
            if (!replies->write(&reply, params)) fail("reply not written");
            ++served;
            std::printf("{\"a\": %lld, \"b\": %lld}\n", static_cast<long long>(request.a()),
                        static_cast<long long>(request.b()));
            std::fflush(stdout);
        }
        if (served < want) fail("served only " + std::to_string(served) + " requests");
        replies->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(5, 0));
        return 0;
    }
    DataReader* replies = dds.reader(rr, false, 10);
    DataWriter* requests = dds.writer(rq, false, 10);
    wait_matched(a, requests, replies, 1);
    std::ifstream file(a.arg);
    long long x = 0, y = 0;
    while (file >> x >> y) {
        AddTwoInts_Request_ request;
        request.a(x);
        request.b(y);
        // rmw_fastrtps: the request names the reader its reply is for.
        WriteParams params;
        params.related_sample_identity().writer_guid(replies->guid());
        if (!requests->write(&request, params)) fail("request not written");
        auto id = params.sample_identity();
        AddTwoInts_Response_ reply;
        bool answered = false;
        while (!answered && take(a, replies, &reply, info)) {
            answered = info.related_sample_identity == id;
        }
        if (!answered) fail("no reply");
        std::printf("{\"a\": %lld, \"b\": %lld, \"sum\": %lld}\n", x, y,
                    static_cast<long long>(reply.sum()));
        std::fflush(stdout);
    }
    return 0;
}

using sensor_msgs::msg::dds_::PointCloud2_;

/// The bench's round trip: `echo` writes back what arrives, `ping` times COUNT round trips.
int bench(const Args& a) {
    Dds dds;
    TypeSupport type(new sensor_msgs::msg::dds_::PointCloud2_PubSubType());
    Topic* ping = dds.topic("rt" + a.topic, type);
    Topic* pong = a.type == "-" ? nullptr : dds.topic("rt" + a.type, type);
    size_t size = std::strtoul(a.arg.c_str(), nullptr, 10);
    SampleInfo info;
    PointCloud2_ cloud;
    if (a.mode == "echo") {
        DataReader* r = dds.reader(ping, false, 64);
        DataWriter* w = dds.writer(pong, false, 64);
        std::printf("ready\n");
        std::fflush(stdout);
        while (take(a, r, &cloud, info)) {
            if (!w->write(&cloud)) fail("echo not written");
        }
        return 0;
    }
    int count = std::atoi(a.arg2.c_str());
    if (a.mode == "count") {
        DataReader* r = dds.reader(ping, false, -count);
        std::printf("ready\n");
        std::fflush(stdout);
        int got = 0;
        Clock::time_point first, last;
        while (got < count && take(a, r, &cloud, info)) {
            last = Clock::now();
            if (got++ == 0) first = last;
        }
        std::printf("{\"received\": %d, \"seconds\": %f}\n", got,
                    std::chrono::duration<double>(last - first).count());
        return 0;
    }
    cloud.data(std::vector<uint8_t>(size, 7));
    cloud.header().frame_id("bench");
    if (a.mode == "burst") {
        DataWriter* w = dds.writer(ping, false, -64);
        wait_matched(a, w, nullptr, a.wait_match);
        auto start = Clock::now();
        for (int i = 0; i < count; ++i) {
            cloud.width(static_cast<uint32_t>(i));
            // A full history refuses the write: wait for acknowledgements, then retry.
            int tries = 0;
            while (!w->write(&cloud)) {
                if (++tries > 100 || !before(a)) fail("burst write " + std::to_string(i) + " failed");
                w->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(0, 10000000));
            }
        }
        w->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(30, 0));
        std::printf("{\"sent\": %d, \"seconds\": %f}\n", count,
                    std::chrono::duration<double>(Clock::now() - start).count());
        return 0;
    }
    DataReader* r = dds.reader(pong, false, 64);
    DataWriter* w = dds.writer(ping, false, 64);
    wait_matched(a, w, r, 1);
    std::string rtts;
    for (int i = 0; i < count; ++i) {
        cloud.width(static_cast<uint32_t>(i));
        auto sent = Clock::now();
        if (!w->write(&cloud)) fail("ping not written");
        PointCloud2_ back;
        bool came = false;
        while (!came && take(a, r, &back, info)) {
            came = back.width() == static_cast<uint32_t>(i);
        }
        if (!came) fail("ping " + std::to_string(i) + " never came back");
        double us = std::chrono::duration<double, std::micro>(Clock::now() - sent).count();
        rtts += (i ? "," : "") + std::to_string(us);
    }
    std::printf("{\"rtt_us\": [%s]}\n", rtts.c_str());
    return 0;
}

using Runner = std::function<int(const Args&)>;

std::map<std::string, Runner> runners() {
    return {
        {"std_msgs/msg/String", pub_sub<std_msgs::msg::dds_::String_PubSubType>},
        {"geometry_msgs/msg/Twist", pub_sub<geometry_msgs::msg::dds_::Twist_PubSubType>},
        {"geometry_msgs/msg/PoseStamped", pub_sub<geometry_msgs::msg::dds_::PoseStamped_PubSubType>},
        {"sensor_msgs/msg/Imu", pub_sub<sensor_msgs::msg::dds_::Imu_PubSubType>},
        {"sensor_msgs/msg/JointState", pub_sub<sensor_msgs::msg::dds_::JointState_PubSubType>},
        {"sensor_msgs/msg/PointCloud2", pub_sub<sensor_msgs::msg::dds_::PointCloud2_PubSubType>},
    };
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--transient-local") a.transient_local = true;
        else if (arg == "--wait-match") a.wait_match = std::atoi(value().c_str());
        else if (arg == "--timeout") a.timeout = std::atof(value().c_str());
        else if (arg == "--linger") a.linger = std::atof(value().c_str());
        else positional.push_back(arg);
    }
    if (positional.size() < 4) fail("usage: see the top of fastdds_peer.cpp");
    a.mode = positional[0];
    a.topic = positional[1];
    a.type = positional[2];
    a.arg = positional[3];
    if (positional.size() > 4) a.arg2 = positional[4];
    a.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
    if (a.mode == "server" || a.mode == "client") return add_two_ints(a);
    if (a.mode == "echo" || a.mode == "ping" || a.mode == "burst" || a.mode == "count") {
        return bench(a);
    }
    if (a.mode != "pub" && a.mode != "sub") fail("unknown mode " + a.mode);
    auto all = runners();
    auto found = all.find(a.type);
    if (found == all.end()) fail("no Fast DDS type for " + a.type);
    return found->second(a);
}
